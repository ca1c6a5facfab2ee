using System.Text.Json;
using Orchestrator.Grains.Runs;

namespace Orchestrator.Runs;

/// <summary>Checks and normalisations shared by both stores, so that they accept and return the same things.</summary>
internal static class RunEventRules
{
    /// <summary>
    /// Refuses, at the caller, an event that the database would refuse later in a batch shared with other
    /// runs; returns it with <see cref="RunEvent.At"/> in UTC and truncated to microseconds (PostgreSQL's precision).
    /// </summary>
    public static RunEvent Normalize(RunEvent runEvent)
    {
        ArgumentNullException.ThrowIfNull(runEvent);
        RequireText(runEvent.RunKey, "RunKey");
        RequireText(runEvent.Kind, "Kind");
        if (runEvent.StepId is not null)
        {
            RequireText(runEvent.StepId, "StepId");
        }

        if (runEvent.Sequence < 1)
        {
            throw new ArgumentException($"RunEvent.Sequence must be 1 or more; got {runEvent.Sequence} for run '{runEvent.RunKey}'.", nameof(runEvent));
        }

        if (runEvent.Attempt < 0)
        {
            throw new ArgumentException($"RunEvent.Attempt must be 0 or more; got {runEvent.Attempt}.", nameof(runEvent));
        }

        RequireJsonObject(runEvent.Data, nameof(runEvent));
        var at = Truncate(runEvent.At);
        return at == runEvent.At && at.Offset == TimeSpan.Zero ? runEvent : runEvent with { At = at };
    }

    /// <summary>UTC, whole microseconds.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        return new DateTimeOffset(ticks - (ticks % 10), TimeSpan.Zero);
    }

    public static void RequireText(string? value, string name)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new ArgumentException($"{name} must not be empty.", name);
        }

        // PostgreSQL text cannot hold U+0000; refusing it here keeps both stores alike.
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"{name} must not contain U+0000.", name);
        }
    }

    private static void RequireJsonObject(string? data, string paramName)
    {
        if (data is null)
        {
            throw new ArgumentException("RunEvent.Data must be a JSON object ({} when empty), not null.", paramName);
        }

        try
        {
            using var document = JsonDocument.Parse(data);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException($"RunEvent.Data must be a JSON object; got a JSON {document.RootElement.ValueKind}.", paramName);
            }
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"RunEvent.Data is not valid JSON: {ex.Message}", paramName, ex);
        }
    }
}
