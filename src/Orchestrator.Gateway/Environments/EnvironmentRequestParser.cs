using System.Text.Json;
using Orchestrator.Gateway.Instances;
using Orchestrator.Grains.Environments;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Tenants;

namespace Orchestrator.Gateway.Environments;

/// <summary>Reads the environment and git bodies by hand, so that every problem names its field.</summary>
internal static class EnvironmentRequestParser
{
    public static readonly string[] CreateFields = ["name", "repo_url", "branch", "region", "size", "volume", "setup_command", "env", "git_credentials_secret"];

    public static (EnvironmentSpec? Spec, IResult? Problem) ParseCreate(JsonElement body, string environmentId)
    {
        if (String(body, "name", required: true, out var name) is { } p1)
        {
            return (null, p1);
        }

        if (EnvironmentRules.ValidateName(name) is { } nameProblem)
        {
            return (null, InstanceProblems.Invalid("name", nameProblem));
        }

        if (String(body, "repo_url", required: true, out var repoUrl) is { } p2)
        {
            return (null, p2);
        }

        if (EnvironmentRules.ValidateRepoUrl(repoUrl) is { } urlProblem)
        {
            return (null, InstanceProblems.Invalid("repo_url", urlProblem));
        }

        if (String(body, "branch", required: false, out var branch) is { } p3)
        {
            return (null, p3);
        }

        if (branch is not null && EnvironmentRules.ValidateBranch(branch) is { } branchProblem)
        {
            return (null, InstanceProblems.Invalid("branch", branchProblem));
        }

        if (String(body, "region", required: true, out var region) is { } p4)
        {
            return (null, p4);
        }

        if (String(body, "size", required: true, out var size) is { } p5)
        {
            return (null, p5);
        }

        if (String(body, "setup_command", required: false, out var setup) is { } p6)
        {
            return (null, p6);
        }

        if (EnvironmentRules.ValidateSetupCommand(setup) is { } setupProblem)
        {
            return (null, InstanceProblems.Invalid("setup_command", setupProblem));
        }

        if (String(body, "git_credentials_secret", required: false, out var secret) is { } p7)
        {
            return (null, p7);
        }

        if (secret is not null && TenantSecretRules.ValidateName(secret) is { } secretProblem)
        {
            return (null, InstanceProblems.Invalid("git_credentials_secret", secretProblem));
        }

        Dictionary<string, string>? env = null;
        if (body.TryGetProperty("env", out var envElement) && envElement.ValueKind != JsonValueKind.Null)
        {
            if (envElement.ValueKind != JsonValueKind.Object)
            {
                return (null, InstanceProblems.Invalid("env", "must be an object of names to strings"));
            }

            env = new(StringComparer.Ordinal);
            foreach (var entry in envElement.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                {
                    return (null, InstanceProblems.Invalid($"env.{entry.Name}", "must be a string"));
                }

                env[entry.Name] = entry.Value.GetString()!;
            }
        }

        int? volumeSize = null;
        string? volumeId = null;
        if (body.TryGetProperty("volume", out var volume) && volume.ValueKind != JsonValueKind.Null)
        {
            if (volume.ValueKind != JsonValueKind.Object)
            {
                return (null, InstanceProblems.Invalid("volume", "must be an object: {size_gb} for a new volume or {id} for a kept one"));
            }

            foreach (var member in volume.EnumerateObject())
            {
                switch (member.Name)
                {
                    case "size_gb" when member.Value.ValueKind == JsonValueKind.Number && member.Value.TryGetInt32(out var gb):
                        volumeSize = gb;
                        break;
                    case "size_gb":
                        return (null, InstanceProblems.Invalid("volume.size_gb", "must be a whole number from 1 to 500"));
                    case "id" when member.Value.ValueKind == JsonValueKind.String:
                        volumeId = member.Value.GetString();
                        break;
                    case "id":
                        return (null, InstanceProblems.Invalid("volume.id", "must be a string"));
                    default:
                        return (null, InstanceProblems.Invalid("volume." + member.Name, "is not a known field (expected size_gb, id)"));
                }
            }

            if ((volumeSize is null) == (volumeId is null))
            {
                return (null, InstanceProblems.Invalid("volume", "takes exactly one of size_gb and id"));
            }
        }

        // Region, size, env and volume are the instance's: its own rules say what they may be.
        var instanceSpec = new InstanceSpec(
            environmentId,
            region,
            new InstanceSize(size),
            Env: env,
            Volume: volumeId is not null ? InstanceVolumeSpec.Existing(volumeId, EnvironmentRules.WorkspaceRoot) : volumeSize is { } gbs ? new InstanceVolumeSpec(gbs, EnvironmentRules.WorkspaceRoot) : null);
        if (InstanceSpecRules.Validate(instanceSpec) is [var (field, problem), ..])
        {
            return (null, InstanceProblems.Invalid(field, problem));
        }

        return (new EnvironmentSpec(name, repoUrl, branch, region, size, volumeSize, volumeId, string.IsNullOrEmpty(setup) ? null : setup, env, secret), null);
    }

    /// <summary>An optional or required string member; <paramref name="value"/> null when absent or null.</summary>
    internal static IResult? String(JsonElement body, string field, bool required, out string value)
    {
        value = null!;
        if (!body.TryGetProperty(field, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return required ? InstanceProblems.Invalid(field, "is required") : null;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            return InstanceProblems.Invalid(field, "must be a string");
        }

        value = element.GetString()!;
        return null;
    }

    internal static IResult? Boolean(JsonElement body, string field, out bool value)
    {
        value = false;
        if (!body.TryGetProperty(field, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return InstanceProblems.Invalid(field, "must be true or false");
        }

        value = element.GetBoolean();
        return null;
    }

    public static (GitCommitRequest? Request, IResult? Problem) ParseCommit(JsonElement body)
    {
        if (String(body, "message", required: true, out var message) is { } p1)
        {
            return (null, p1);
        }

        if (EnvironmentRules.ValidateMessage(message) is { } messageProblem)
        {
            return (null, InstanceProblems.Invalid("message", messageProblem));
        }

        if (Boolean(body, "all", out var all) is { } p2)
        {
            return (null, p2);
        }

        List<string>? paths = null;
        if (body.TryGetProperty("paths", out var pathsElement) && pathsElement.ValueKind != JsonValueKind.Null)
        {
            if (pathsElement.ValueKind != JsonValueKind.Array || pathsElement.GetArrayLength() is 0 or > EnvironmentRules.MaxPaths)
            {
                return (null, InstanceProblems.Invalid("paths", $"must be a list of 1 to {EnvironmentRules.MaxPaths} paths"));
            }

            paths = [];
            var i = 0;
            foreach (var item in pathsElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String || EnvironmentRules.ValidatePath(item.GetString()) is not null)
                {
                    return (null, InstanceProblems.Invalid($"paths[{i}]", EnvironmentRules.ValidatePath(item.ValueKind == JsonValueKind.String ? item.GetString() : null)!));
                }

                paths.Add(item.GetString()!);
                i++;
            }
        }

        if (paths is not null && all)
        {
            return (null, InstanceProblems.Invalid("all", "cannot be true together with paths; give one of them"));
        }

        GitPerson? author = null;
        if (body.TryGetProperty("author", out var authorElement) && authorElement.ValueKind != JsonValueKind.Null)
        {
            if (authorElement.ValueKind != JsonValueKind.Object)
            {
                return (null, InstanceProblems.Invalid("author", "must be an object {name, email}"));
            }

            if (String(authorElement, "name", required: true, out var authorName) is not null || String(authorElement, "email", required: true, out var email) is not null)
            {
                return (null, InstanceProblems.Invalid("author", "must have the strings name and email"));
            }

            author = new GitPerson(authorName, email);
            if (EnvironmentRules.ValidatePerson(author) is { } personProblem)
            {
                return (null, InstanceProblems.Invalid("author." + personProblem.Split(' ')[0], personProblem[(personProblem.IndexOf(' ', StringComparison.Ordinal) + 1)..]));
            }
        }

        return (new GitCommitRequest(message, paths, all, author), null);
    }
}
