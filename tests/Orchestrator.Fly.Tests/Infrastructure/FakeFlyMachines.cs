using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;

namespace Orchestrator.Fly.Tests.Infrastructure;

/// <summary>
/// Just enough machine state to test idempotent creates: POST creates (and may then fail or stall on
/// purpose), GET lists with Fly's <c>metadata.{key}=value</c> filter.
/// </summary>
public sealed class FakeFlyMachines
{
    private readonly ConcurrentDictionary<string, JsonObject> _machines = new();
    private int _next;
    private int _createAttempts;

    public int Count => _machines.Count;

    /// <summary>Decides, per create attempt (1-based), whether the machine is stored and how the POST is answered.</summary>
    public Func<int, CreateOutcome> OnCreate { get; set; } = _ => CreateOutcome.Created;

    public int CreateAttempts => _createAttempts;

    public async Task HandleAsync(HttpContext context, RecordedRequest request)
    {
        if (request.Method == "POST" && request.Path.EndsWith("/machines", StringComparison.Ordinal))
        {
            var attempt = Interlocked.Increment(ref _createAttempts);
            var outcome = OnCreate(attempt);
            JsonObject? machine = null;
            if (outcome.Store)
            {
                var body = JsonNode.Parse(request.Body)!.AsObject();
                var id = $"{Interlocked.Increment(ref _next):x14}";
                machine = new JsonObject
                {
                    ["id"] = id,
                    ["name"] = body["name"]?.GetValue<string>() ?? $"machine-{id}",
                    ["state"] = "created",
                    ["region"] = "ord",
                    ["instance_id"] = "01HEPA330HZ37A78TK080NAK1M",
                    ["created_at"] = "2023-11-08T01:52:30Z",
                    ["config"] = body["config"]!.DeepClone(),
                };
                _machines[id] = machine;
            }

            if (outcome.Stall > TimeSpan.Zero)
            {
                await Task.Delay(outcome.Stall, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            if (outcome.Status == 200 && machine is not null)
            {
                await FlyTestServer.Respond(context, 200, machine.ToJsonString());
                return;
            }

            await FlyTestServer.Respond(context, outcome.Status, outcome.Body);
            return;
        }

        if (request.Method == "GET" && request.Path.EndsWith("/machines", StringComparison.Ordinal))
        {
            var filters = QueryHelpers.ParseQuery(request.Query)
                .Where(q => q.Key.StartsWith("metadata.", StringComparison.Ordinal))
                .ToDictionary(q => q.Key["metadata.".Length..], q => q.Value.ToString());
            var matching = _machines.Values.Where(m => filters.All(f =>
                m["config"]?["metadata"]?[f.Key]?.GetValue<string>() == f.Value));
            await FlyTestServer.Respond(context, 200, new JsonArray([.. matching.Select(m => m.DeepClone())]).ToJsonString());
            return;
        }

        await FlyTestServer.Respond(context, 404, """{"error":"not found"}""");
    }

    public IReadOnlyList<JsonObject> Machines => [.. _machines.Values];

    public static string ClientTokenOf(JsonObject machine) =>
        machine["config"]!["metadata"]![FlyMetadataKeys.ClientToken]!.GetValue<string>();
}

/// <summary>What a create attempt does on the fake server.</summary>
public sealed record CreateOutcome(bool Store, int Status, string? Body, TimeSpan Stall = default)
{
    public static CreateOutcome Created { get; } = new(true, 200, null);

    public static CreateOutcome CreatedThen(int status, string body) => new(true, status, body);

    public static CreateOutcome CreatedThenStall(TimeSpan stall) => new(true, 200, null, stall);

    public static CreateOutcome Refused(int status, string body) => new(false, status, body);
}
