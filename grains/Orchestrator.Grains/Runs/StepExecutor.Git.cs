using System.Text.Json.Nodes;
using Orchestrator.Grains.Environments;
using Orchestrator.Grains.Tenants;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Runs;

/// <summary>
/// <c>git.clone</c>: clones on the instance through its exec session. The credentials secret is read from the tenant's
/// secrets only for this step and only the value it names; it goes to the machine on the command's standard input (see
/// <see cref="GitCredentials"/>), never into the run's state, and what git says back is masked before the run keeps it.
/// </summary>
internal sealed partial class StepExecutor
{
    private static readonly TimeSpan s_defaultCloneTimeout = TimeSpan.FromMinutes(10);

    private static async Task<JsonObject> GitCloneAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var instance = with.GetString("instance");
        var repoUrl = with.GetString("repo_url");
        var path = with.GetString("path");
        var branch = with.GetOptionalString("branch") is { Length: > 0 } b ? b : null;
        if (EnvironmentRules.ValidateRepoUrl(repoUrl) is { } urlProblem)
        {
            throw new InvalidOperationException($"repo_url {urlProblem}");
        }

        if (branch is not null && EnvironmentRules.ValidateBranch(branch) is { } branchProblem)
        {
            throw new InvalidOperationException($"branch {branchProblem}");
        }

        if (!path.StartsWith('/') || path.Split('/').Any(part => part == ".."))
        {
            throw new InvalidOperationException("path must be an absolute directory without '..'");
        }

        var credentials = with.GetOptionalString("credentials_secret") is { Length: > 0 } secretName
            ? await ReadCredentialsAsync(attempt.Run.Grains, attempt.Run.Tenant, secretName)
            : null;
        var redactor = new Redactor(credentials?.Secrets() ?? []);
        var output = await GitRunner.RunAsync(
            attempt.Run.Grains,
            attempt.Run.Tenant,
            instance,
            GitScripts.Clone(repoUrl, branch, path, credentials is not null),
            cwd: null,
            with.GetOptionalDuration("timeout") ?? s_defaultCloneTimeout,
            maxStdoutBytes: 64 * 1024,
            credentials?.Stdin(),
            new Dictionary<string, string>(StringComparer.Ordinal) { [IdempotencyVariable] = attempt.IdempotencyKey, [RunIdVariable] = attempt.Run.RunId },
            cancellationToken);
        var said = attempt.Run.Redact(redactor.Redact(output.Stderr));
        if (said.Length > 0)
        {
            await attempt.Run.EmitOutputAsync(attempt.Step, attempt.State.Attempt, "stderr", said);
        }

        if (!output.Succeeded)
        {
            throw GitRunner.Failure("clone", output, redactor);
        }

        return new JsonObject
        {
            ["path"] = path,
            ["commit"] = output.Value("commit"),
            ["branch"] = output.Value("branch"),
        };
    }

    /// <summary>The named tenant secret as git credentials.</summary>
    internal static async Task<GitCredentials> ReadCredentialsAsync(IGrainFactory grains, string tenant, string secretName)
    {
        var values = await grains.GetGrain<ITenantSecretValuesGrain>(tenant).GetValuesAsync([secretName]);
        if (!values.TryGetValue(secretName, out var value))
        {
            throw new GitOperationException(GitErrorKinds.CredentialsUnavailable, $"The tenant has no secret '{secretName}' (git_credentials_secret); set it with PUT /api/secrets/{secretName}.");
        }

        return GitCredentials.FromSecret(value)
            ?? throw new GitOperationException(GitErrorKinds.CredentialsUnavailable, $"Secret '{secretName}' cannot be a git credential: it must be one line, a token or username:token.");
    }
}
