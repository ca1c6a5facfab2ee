using Microsoft.Net.Http.Headers;
using Orchestrator.Grains.Workflows;
using Orchestrator.Workflows;

namespace Orchestrator.Gateway.Workflows;

/// <summary>The rules for what a client sends the workflow API: names in paths and the definition's format.</summary>
internal static class WorkflowRequest
{
    /// <summary>A definition's largest accepted size in bytes (256 KiB).</summary>
    public const int MaxDefinitionBytes = 256 * 1024;

    /// <summary>Null when <paramref name="name"/> can name a workflow in a path and a grain key (<see cref="WorkflowNames"/>).</summary>
    public static string? ValidateName(string? name) => WorkflowNames.Validate(name);

    /// <summary>
    /// The format of a definition sent with <paramref name="contentType"/>: JSON or YAML when the type says so,
    /// detected from the text for <c>text/plain</c>, <c>application/octet-stream</c> or no type; null when the
    /// type is something else (415).
    /// </summary>
    public static WorkflowFormat? ChooseFormat(string? contentType, string text)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return WorkflowDefinitionReader.DetectFormat(text);
        }

        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed) || parsed.MediaType.Value is not { } mediaType)
        {
            return null;
        }

        if (parsed.Charset.HasValue && !parsed.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)
            && !parsed.Charset.Equals("utf8", StringComparison.OrdinalIgnoreCase) && !parsed.Charset.Equals("us-ascii", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return mediaType.ToLowerInvariant() switch
        {
            "application/json" or "text/json" => WorkflowFormat.Json,
            "application/yaml" or "application/x-yaml" or "text/yaml" or "text/x-yaml" => WorkflowFormat.Yaml,
            "text/plain" or "application/octet-stream" => WorkflowDefinitionReader.DetectFormat(text),
            var other when other.EndsWith("+json", StringComparison.Ordinal) => WorkflowFormat.Json,
            var other when other.EndsWith("+yaml", StringComparison.Ordinal) => WorkflowFormat.Yaml,
            _ => null,
        };
    }
}
