using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;

namespace Orchestrator.Contract.Tests;

/// <summary>
/// Checks answers against the OpenAPI document as a validating proxy would: the operation and its status are
/// documented, required headers are there, the media type is one the response lists, and the body is valid against
/// the media type's schema (JSON Schema 2020-12, OpenAPI 3.1's dialect, with JsonSchema.Net). Stream bodies are
/// checked item by item against the media type's <c>x-itemSchema</c>: each NDJSON line, each server-sent event's data.
/// </summary>
public sealed class ContractValidator
{
    private static readonly Uri DocumentUri = new("https://orchestrator.test/openapi/v1.json");

    private readonly JsonObject _document;
    private readonly EvaluationOptions _options;
    private readonly List<(Regex Pattern, string Path, int Literals)> _paths;

    public ContractValidator(string documentJson)
    {
        _document = JsonNode.Parse(documentJson)!.AsObject();
        _options = new EvaluationOptions { OutputFormat = OutputFormat.List, EvaluateAs = SpecVersion.Draft202012 };
        _options.SchemaRegistry.Register(DocumentUri, new JsonNodeBaseDocument(_document, DocumentUri));
        _paths = [.. _document["paths"]!.AsObject().Select(static p => (
            new Regex("^" + Regex.Replace(Regex.Escape(p.Key), @"\\\{[^}]+}", "[^/]+") + "$", RegexOptions.CultureInvariant),
            p.Key,
            p.Key.Split('/').Count(static s => !s.StartsWith('{'))))];
    }

    /// <summary>Every documented operation, as "METHOD /path".</summary>
    public IReadOnlyList<string> Operations =>
        [.. _document["paths"]!.AsObject().SelectMany(static p => p.Value!.AsObject().Select(o => $"{o.Key.ToUpperInvariant()} {p.Key}"))];

    /// <summary>Each answer validated, as "METHOD /path STATUS", with how often.</summary>
    public ConcurrentDictionary<string, int> Seen { get; } = new(StringComparer.Ordinal);

    /// <summary>Everything found wrong, one line each.</summary>
    public ConcurrentQueue<string> Violations { get; } = new();

    public void Check(HttpMethod method, string path, int status, HttpResponseHeaders headers, HttpContentHeaders? contentHeaders, byte[] body)
    {
        var template = _paths.Where(p => p.Pattern.IsMatch(path)).OrderByDescending(static p => p.Literals).Select(static p => p.Path).FirstOrDefault();
        var verb = method.Method.ToLowerInvariant();
        var where = $"{method.Method} {path} {status}";
        if (template is null || _document["paths"]![template]![verb] is not JsonObject operation)
        {
            // An unknown route must answer the documented not-found problem (any operation documents the schema).
            Violations.Enqueue($"{where}: no such operation in the document");
            return;
        }

        var name = $"{method.Method} {template}";
        Seen.AddOrUpdate($"{name} {status}", 1, static (_, n) => n + 1);
        var responses = operation["responses"]!.AsObject();
        var statusKey = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var key = responses.ContainsKey(statusKey) ? statusKey : responses.ContainsKey($"{statusKey[0]}XX") ? $"{statusKey[0]}XX" : responses.ContainsKey("default") ? "default" : null;
        if (key is null)
        {
            Violations.Enqueue($"{where}: status not documented for {name}");
            return;
        }

        var response = Resolve(responses[key]!);
        var pointer = $"/paths/{Escape(template)}/{verb}/responses/{key}";
        foreach (var (header, declaration) in response["headers"]?.AsObject() ?? [])
        {
            var present = headers.TryGetValues(header, out _) || (contentHeaders?.TryGetValues(header, out _) ?? false);
            if ((bool?)declaration!["required"] == true && !present)
            {
                Violations.Enqueue($"{where}: required header {header} missing");
            }
        }

        var content = response["content"]?.AsObject();
        if (content is null || content.Count == 0)
        {
            if (body.Length > 0)
            {
                Violations.Enqueue($"{where}: a body where the document has none");
            }

            return;
        }

        var mediaType = contentHeaders?.ContentType?.MediaType;
        if (mediaType is null || !content.ContainsKey(mediaType))
        {
            Violations.Enqueue($"{where}: media type '{mediaType}' is not one of {string.Join(", ", content.Select(static c => c.Key))}");
            return;
        }

        var media = content[mediaType]!;
        var mediaPointer = $"{pointer}/content/{Escape(mediaType)}";
        var text = Encoding.UTF8.GetString(body);
        if (media["x-itemSchema"] is not null)
        {
            var items = mediaType == "text/event-stream" ? ServerSentData(text) : text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            foreach (var (item, index) in items.Select(static (item, index) => (item, index)))
            {
                Validate($"{where} item {index}", $"{mediaPointer}/x-itemSchema", Parse(item, where));
            }

            return;
        }

        if (media["schema"] is null)
        {
            return;
        }

        var isJson = mediaType.EndsWith("json", StringComparison.Ordinal) || mediaType.EndsWith("+json", StringComparison.Ordinal);
        Validate(where, $"{mediaPointer}/schema", isJson ? Parse(text, where) : JsonValue.Create(text));
    }

    private void Validate(string where, string pointer, JsonNode? instance)
    {
        var schema = JsonSchema.FromText($$"""{"$ref": "{{DocumentUri}}#{{pointer}}"}""");
        var result = schema.Evaluate(instance, _options);
        if (!result.IsValid)
        {
            var errors = (result.Details ?? []).Where(static d => d.HasErrors).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")).Take(5);
            Violations.Enqueue($"{where}: not valid against #{pointer}: {string.Join("; ", errors)} (body: {Shorten(instance?.ToJsonString())})");
        }
    }

    private JsonNode? Parse(string text, string where)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException ex)
        {
            Violations.Enqueue($"{where}: not JSON ({ex.Message}): {Shorten(text)}");
            return null;
        }
    }

    private JsonNode Resolve(JsonNode node) =>
        node["$ref"] is { } reference ? _document.Index(((string)reference!)[2..].Split('/'))! : node;

    /// <summary>The data of each event of a server-sent event stream (comments and keep-alives skipped).</summary>
    internal static IEnumerable<string> ServerSentData(string text) =>
        text.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(static e => string.Join('\n', e.Split('\n').Where(static l => l.StartsWith("data:", StringComparison.Ordinal)).Select(static l => l[5..].TrimStart(' '))))
            .Where(static d => d.Length > 0);

    private static string Escape(string segment) => segment.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static string? Shorten(string? text) => text is { Length: > 300 } ? text[..300] + "…" : text;
}

internal static class JsonObjectPath
{
    /// <summary>The node at <paramref name="segments"/> (JSON pointer segments, unescaped).</summary>
    public static JsonNode? Index(this JsonObject root, string[] segments)
    {
        JsonNode? node = root;
        foreach (var segment in segments)
        {
            node = node?[segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)];
        }

        return node;
    }
}
