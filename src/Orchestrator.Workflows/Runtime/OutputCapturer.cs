using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Orchestrator.Workflows.Runtime;

/// <summary>Applies a step's output captures to what the step produced.</summary>
public static class OutputCapturer
{
    // Captures run on untrusted command output: bound the regex engine's time.
    private static readonly TimeSpan s_regexTimeout = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Every output of a finished step: the built-in ones the runner passes in <paramref name="builtIn"/>
    /// (e.g. exit_code, stdout, stderr) and each declared capture applied to its source text.
    /// </summary>
    public static IReadOnlyDictionary<string, WorkflowValue> CaptureAll(
        StepDefinition step,
        IReadOnlyDictionary<OutputSource, string> sources,
        IReadOnlyDictionary<string, WorkflowValue> builtIn)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(builtIn);
        var outputs = new Dictionary<string, WorkflowValue>(builtIn, StringComparer.Ordinal);
        foreach (var (name, capture) in step.Outputs)
        {
            outputs[name] = sources.TryGetValue(capture.From, out var text) ? Capture(capture, name, text) : WorkflowValue.Null;
        }

        return outputs;
    }

    /// <summary>The captured value, or null when the JSON path or regex finds nothing (or stdout is not JSON).</summary>
    public static WorkflowValue Capture(OutputCapture capture, string name, string text)
    {
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentNullException.ThrowIfNull(text);
        switch (capture.Kind)
        {
            case CaptureKind.Json:
                JsonNode? document;
                try
                {
                    document = JsonNode.Parse(text);
                }
                catch (JsonException)
                {
                    // Output that is not JSON captures nothing; the step's own status decides success.
                    return WorkflowValue.Null;
                }

                return WorkflowValue.FromJsonNode(JsonPath.Parse(capture.Pattern!).Select(document));
            case CaptureKind.Regex:
                var match = new Regex(capture.Pattern!, RegexOptions.CultureInvariant, s_regexTimeout).Match(text);
                var group = match.Groups[capture.Group ?? name];
                return match.Success && group.Success ? new StringValue(group.Value) : WorkflowValue.Null;
            default:
                return new StringValue(text.TrimEnd('\n', '\r'));
        }
    }
}
