using System.Text.Json;
using Orchestrator.Grains.Runs;

namespace Orchestrator.Gateway.Runs;

/// <summary>A run as the API shows it (snake_case on the wire); inputs and outputs are JSON objects, not text.</summary>
public sealed record RunResponse(
    string Id,
    string Workflow,
    int Version,
    string Status,
    JsonElement Inputs,
    JsonElement Outputs,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? EndedAt,
    long LastSequence,
    IReadOnlyList<StepResponse> Steps)
{
    public static RunResponse From(RunView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        return new RunResponse(
            view.RunId, view.Workflow, view.Version, view.Status, JsonText.ToElement(view.InputsJson), JsonText.ToElement(view.OutputsJson),
            view.Error, view.CreatedAt, view.UpdatedAt, view.EndedAt, view.LastSequence, [.. view.Steps.Select(StepResponse.From)]);
    }
}

public sealed record StepResponse(
    string Id,
    string Uses,
    string Status,
    int Attempts,
    DateTimeOffset? StartedAt,
    DateTimeOffset? EndedAt,
    JsonElement Outputs,
    string? Error,
    bool InFinally)
{
    public static StepResponse From(StepView step)
    {
        ArgumentNullException.ThrowIfNull(step);
        return new StepResponse(step.Id, step.Uses, step.Status, step.Attempts, step.StartedAt, step.EndedAt, JsonText.ToElement(step.OutputsJson), step.Error, step.InFinally);
    }
}

public sealed record RunSummaryResponse(string Id, string Workflow, int Version, string Status, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static RunSummaryResponse From(RunSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return new RunSummaryResponse(summary.RunId, summary.Workflow, summary.Version, summary.Status, summary.CreatedAt, summary.UpdatedAt);
    }
}

public sealed record RunListResponse(IReadOnlyList<RunSummaryResponse> Items, string? NextCursor);

public sealed record StepOutputResponse(string StepId, int Attempt, string Stdout, string Stderr);

/// <summary>The grains carry JSON as text; the API embeds it as JSON.</summary>
internal static class JsonText
{
    private static readonly JsonElement EmptyObject = JsonSerializer.SerializeToElement(new Dictionary<string, object>());

    /// <summary>
    /// The JSON value <paramref name="json"/> holds; <c>{}</c> when there is none. Text that is not JSON (a grain bug)
    /// is shown as a string rather than failing the whole response.
    /// </summary>
    public static JsonElement ToElement(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return EmptyObject;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(json);
        }
    }
}
