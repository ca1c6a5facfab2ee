using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Grains.Sessions;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Runs;

/// <summary>
/// <c>session.open</c>: a persistent terminal session on the instance, through its session grain. The session's id is
/// derived from the step's idempotency key, so a retried or resumed attempt opens the session it already made.
/// </summary>
internal sealed partial class StepExecutor
{
    private static async Task<JsonObject> SessionOpenAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var instance = with.GetString("instance");
        var spec = new TerminalSessionSpec(
            Name: with.GetOptionalString("name") is { Length: > 0 } name ? name : null,
            Command: with.GetOptionalString("command") is { Length: > 0 } command ? command : null,
            Cwd: with.GetOptionalString("cwd") is { Length: > 0 } cwd ? cwd : null);
        if (TerminalSessionRules.Validate(spec) is [var (field, problem), ..])
        {
            throw new InvalidOperationException($"{field} {problem}");
        }

        var sessionId = "s-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(attempt.IdempotencyKey)).AsSpan(0, 6));
        var session = attempt.Run.Grains.GetGrain<ITerminalSessionGrain>(SshSessionKey.Format(attempt.Run.Tenant, instance, sessionId));
        var info = await session.CreateAsync(spec, cancellationToken);
        return new JsonObject { ["id"] = info.Id, ["name"] = info.Name };
    }
}
