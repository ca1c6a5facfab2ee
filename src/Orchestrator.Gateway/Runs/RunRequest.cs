using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestrator.Gateway.Workflows;
using Orchestrator.Grains.Runs;

namespace Orchestrator.Gateway.Runs;

/// <summary>A parsed <c>POST /api/runs</c> body: what to start and, when given, the key that names the run.</summary>
internal sealed record RunStart(string Workflow, int? Version, string InputsJson, IReadOnlyDictionary<string, string>? Secrets, string? IdempotencyKey);

/// <summary>
/// The rules for what a client sends the run API. Bodies are read by hand so that every type error names its field
/// (a model binder would answer with a generic deserialization failure).
/// </summary>
internal static partial class RunRequest
{
    public const int MaxIdempotencyKeyLength = 255;
    public const int MaxCursorLength = 512;
    public const int MaxBodyBytes = 1024 * 1024;
    public const int MaxSignalBytes = 256 * 1024;

    private static readonly HashSet<string> Known = ["workflow", "version", "inputs", "secrets", "idempotency_key"];
    private static readonly string[] Statuses =
        [RunStatuses.Pending, RunStatuses.Running, RunStatuses.Waiting, RunStatuses.Succeeded, RunStatuses.Failed, RunStatuses.Cancelled];

    /// <summary>Null when <paramref name="id"/> can be a run id: 1 to 63 lowercase letters, digits and '-'.</summary>
    public static string? ValidateRunId(string? id) =>
        id is not null && RunId().IsMatch(id) ? null : "must be 1 to 63 lowercase letters, digits and '-'";

    /// <summary>Null when <paramref name="stepId"/> can be a step id (as the definition language allows them).</summary>
    public static string? ValidateStepId(string? stepId) =>
        stepId is not null && StepId().IsMatch(stepId) ? null : "must be a step id: a letter or '_', then up to 63 letters, digits, '_' and '-'";

    /// <summary>Null when <paramref name="name"/> can name a signal: a letter or '_', then up to 63 letters, digits, '_', '-' and '.'.</summary>
    public static string? ValidateSignalName(string? name) =>
        name is not null && SignalName().IsMatch(name) ? null : "must be a letter or '_', then up to 63 letters, digits, '_', '-' and '.'";

    public static string? ValidateStatus(string status) =>
        Statuses.Contains(status) ? null : $"must be one of {string.Join(", ", Statuses)}";

    public static string? ValidateIdempotencyKey(string key) =>
        key.Length is 0 or > MaxIdempotencyKeyLength || key.Any(char.IsControl)
            ? $"must be 1 to {MaxIdempotencyKeyLength} characters without control characters"
            : null;

    /// <summary>Parses a start body; <paramref name="headerKey"/> is the <c>Idempotency-Key</c> header, if any.</summary>
    public static (RunStart? Start, (string Field, string Problem)? Problem) ParseStart(JsonElement body, string? headerKey)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, ("body", "must be a JSON object"));
        }

        foreach (var property in body.EnumerateObject())
        {
            if (!Known.Contains(property.Name))
            {
                return (null, (property.Name, "is not a known field"));
            }
        }

        if (!body.TryGetProperty("workflow", out var workflowElement) || workflowElement.ValueKind != JsonValueKind.String)
        {
            return (null, ("workflow", "is required and must be a string"));
        }

        var workflow = workflowElement.GetString()!;
        if (WorkflowRequest.ValidateName(workflow) is { } nameProblem)
        {
            return (null, ("workflow", nameProblem));
        }

        int? version = null;
        if (body.TryGetProperty("version", out var versionElement) && versionElement.ValueKind != JsonValueKind.Null)
        {
            if (versionElement.ValueKind != JsonValueKind.Number || !versionElement.TryGetInt32(out var number) || number < 1)
            {
                return (null, ("version", "must be a whole number from 1"));
            }

            version = number;
        }

        var inputsJson = "{}";
        if (body.TryGetProperty("inputs", out var inputsElement) && inputsElement.ValueKind != JsonValueKind.Null)
        {
            if (inputsElement.ValueKind != JsonValueKind.Object)
            {
                return (null, ("inputs", "must be a JSON object of input values"));
            }

            inputsJson = inputsElement.GetRawText();
        }

        Dictionary<string, string>? secrets = null;
        if (body.TryGetProperty("secrets", out var secretsElement) && secretsElement.ValueKind != JsonValueKind.Null)
        {
            if (secretsElement.ValueKind != JsonValueKind.Object)
            {
                return (null, ("secrets", "must be a JSON object of string values"));
            }

            secrets = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var secret in secretsElement.EnumerateObject())
            {
                if (secret.Value.ValueKind != JsonValueKind.String)
                {
                    return (null, ($"secrets.{secret.Name}", "must be a string"));
                }

                secrets[secret.Name] = secret.Value.GetString()!;
            }
        }

        string? bodyKey = null;
        if (body.TryGetProperty("idempotency_key", out var keyElement) && keyElement.ValueKind != JsonValueKind.Null)
        {
            if (keyElement.ValueKind != JsonValueKind.String)
            {
                return (null, ("idempotency_key", "must be a string"));
            }

            bodyKey = keyElement.GetString()!;
            if (ValidateIdempotencyKey(bodyKey) is { } keyProblem)
            {
                return (null, ("idempotency_key", keyProblem));
            }
        }

        if (headerKey is not null)
        {
            if (ValidateIdempotencyKey(headerKey) is { } keyProblem)
            {
                return (null, ("Idempotency-Key", keyProblem));
            }

            if (bodyKey is not null && !string.Equals(bodyKey, headerKey, StringComparison.Ordinal))
            {
                return (null, ("idempotency_key", "differs from the Idempotency-Key header; send one of them"));
            }
        }

        return (new RunStart(workflow, version, inputsJson, secrets, bodyKey ?? headerKey), null);
    }

    /// <summary>
    /// Where an event stream starts: after the <c>Last-Event-ID</c> header's sequence (a reconnecting
    /// EventSource sends it), else after <c>?after=</c>, else from the first event.
    /// </summary>
    public static (long After, (string Field, string Problem)? Problem) ParseAfter(string? lastEventId, string? after)
    {
        if (!string.IsNullOrEmpty(lastEventId))
        {
            return long.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var fromHeader)
                ? (fromHeader, null)
                : (0, ("Last-Event-ID", "must be the sequence number of an event (a whole number from 0)"));
        }

        if (after is not null)
        {
            return long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out var fromQuery)
                ? (fromQuery, null)
                : (0, ("after", "must be the sequence number of an event (a whole number from 0)"));
        }

        return (0, null);
    }

    [GeneratedRegex("^[a-z0-9-]{1,63}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex RunId();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_-]{0,63}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex StepId();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_.-]{0,63}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex SignalName();
}
