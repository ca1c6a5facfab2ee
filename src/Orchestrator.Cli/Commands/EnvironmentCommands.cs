using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Api;
using Spectre.Console;

namespace Orchestrator.Cli.Commands;

/// <summary><c>orch env ...</c>: environments (a machine with a repository checked out): create, list, get, delete.</summary>
internal static class EnvironmentCommands
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    public static Command Build(CliApp app)
    {
        var env = Args.Command("env", "Environments: a machine with a git repository checked out under /workspace.",
            "orch env create app --repo https://github.com/acme/app.git --region ams --size shared-cpu-2x", "orch env list", "orch git status env-3f9c2a");
        env.Aliases.Add("environments");
        env.Add(Create(app));
        env.Add(List(app));
        env.Add(Get(app));
        env.Add(Delete(app));
        return env;
    }

    private static Command Create(CliApp app)
    {
        var command = Args.Command("create", "Create an environment and wait until it is ready (its machine started, the repository cloned, the setup command run).",
            "orch env create app --repo https://github.com/acme/app.git --region ams --size shared-cpu-2x --git-secret GITHUB_TOKEN",
            "orch env create app --repo git@github.com:acme/app.git --region ams --size shared-cpu-1x --branch dev --volume 20 --setup 'npm ci' --no-wait");
        var name = new Argument<string>("NAME") { Description = "The checkout's directory under /workspace." };
        var repo = new Option<string>("--repo") { Description = "The repository URL (https://, ssh://, git:// or user@host:path).", Required = true };
        var region = new Option<string>("--region") { Description = "Fly region, such as ams.", Required = true };
        var size = new Option<string>("--size") { Description = "Size preset, such as shared-cpu-1x.", Required = true };
        var branch = new Option<string?>("--branch") { Description = "The branch to check out; the remote's default when omitted." };
        var volume = new Option<int?>("--volume") { Description = "A new volume of this many GB mounted at /workspace." };
        var setup = new Option<string?>("--setup") { Description = "A shell command run in the checkout once cloned; its failure fails the environment." };
        var env = new Option<string[]>("--env", "-e") { Description = "Environment variable KEY=VALUE for the machine (repeatable).", AllowMultipleArgumentsPerToken = false };
        var secret = new Option<string?>("--git-secret") { Description = "The tenant secret holding an https token for the repository." };
        var noWait = new Option<bool>("--no-wait") { Description = "Return once the environment is accepted, without waiting for it to be ready." };
        command.Add(name);
        command.Add(repo);
        command.Add(region);
        command.Add(size);
        command.Add(branch);
        command.Add(volume);
        command.Add(setup);
        command.Add(env);
        command.Add(secret);
        command.Add(noWait);
        app.SetApiAction(command, async (c, ct) =>
        {
            var request = new CreateEnvironmentRequest(
                c.Parse.GetValue(name)!, c.Parse.GetValue(repo)!, c.Parse.GetValue(region)!, c.Parse.GetValue(size)!, c.Parse.GetValue(branch),
                c.Parse.GetValue(volume) is { } gb ? new EnvironmentVolumeRequest(gb) : null, c.Parse.GetValue(setup), Args.Pairs(c.Parse.GetValue(env), "--env"), c.Parse.GetValue(secret));
            var environment = await c.Api.SendJsonAsync(HttpMethod.Post, "/api/environments", request, ApiJson.Default.CreateEnvironmentRequest, ApiJson.Default.DevEnvironment, ct);
            if (!c.Parse.GetValue(noWait))
            {
                environment = await WaitForReadyAsync(c, environment.Id, ct);
            }

            Print(c, environment);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Polls until the environment is no longer creating, printing its machine's state as it changes; failed ends with its error.</summary>
    private static async Task<DevEnvironment> WaitForReadyAsync(CommandContext c, string id, CancellationToken ct)
    {
        async Task<DevEnvironment> PollAsync(Action<string> status)
        {
            string? seen = null;
            while (true)
            {
                var environment = await c.Api.GetAsync($"/api/environments/{Args.Escape(id)}", ApiJson.Default.DevEnvironment, ct);
                var now = $"{environment.Status}, machine {environment.InstanceState ?? "pending"}";
                if (now != seen)
                {
                    c.Ui.Note($"  {id}: {now}");
                    seen = now;
                }

                status($"{id}: {now}");
                if (environment.Status == "ready")
                {
                    return environment;
                }

                if (environment.Status != "creating")
                {
                    throw new CliException(ExitCodes.Failure, $"Environment {id} is {environment.Status}: {environment.Error ?? "no reason recorded"} (run {environment.RunId})");
                }

                await Task.Delay(PollInterval, ct);
            }
        }

        if (c.Ui.StderrInteractive && !c.Ui.Json)
        {
            return await c.Ui.Err.Status().Spinner(Spinner.Known.Dots).StartAsync($"Waiting for {id} to be ready", ctx => PollAsync(s => ctx.Status(Markup.Escape(s))));
        }

        return await PollAsync(static _ => { });
    }

    private static Command List(CliApp app)
    {
        var command = Args.Command("list", "List environments.", "orch env list", "orch env list -o json | jq -r '.items[].id'");
        command.Aliases.Add("ls");
        app.SetApiAction(command, async (c, ct) =>
        {
            var list = await c.Api.GetAsync("/api/environments", ApiJson.Default.DevEnvironmentList, ct);
            if (c.Ui.Json)
            {
                c.Ui.WriteJson(list, ApiJson.Default.DevEnvironmentList);
            }
            else
            {
                c.Ui.WriteTable(["id", "name", "status", "branch", "repo", "region", "created"],
                    list.Items.Select(static e => new[] { e.Id, e.Name, e.Status, e.Branch, e.RepoUrl, e.Region, Args.Time(e.CreatedAt) }));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Get(CliApp app)
    {
        var command = Args.Command("get", "Show one environment.", "orch env get env-3f9c2a");
        var id = new Argument<string>("ID");
        command.Add(id);
        app.SetApiAction(command, async (c, ct) =>
        {
            Print(c, await c.Api.GetAsync($"/api/environments/{Args.Escape(c.Parse.GetValue(id)!)}", ApiJson.Default.DevEnvironment, ct));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Delete(CliApp app)
    {
        var command = Args.Command("delete", "Delete an environment: its machine and sessions (and its volume unless --keep-volume). Asks first on a terminal; needs --yes otherwise.", "orch env delete env-3f9c2a --yes");
        command.Aliases.Add("rm");
        var id = new Argument<string>("ID");
        var keep = new Option<bool>("--keep-volume") { Description = "Keep the volume, to mount on a later environment." };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask." };
        command.Add(id);
        command.Add(keep);
        command.Add(yes);
        app.SetApiAction(command, async (c, ct) =>
        {
            var environmentId = c.Parse.GetValue(id)!;
            if (!c.Parse.GetValue(yes))
            {
                if (System.Console.IsInputRedirected || !c.Ui.StderrInteractive)
                {
                    throw new CliException(ExitCodes.Usage, $"Refusing to delete {environmentId} without --yes when not on a terminal.");
                }

                if (!await c.Ui.Err.ConfirmAsync($"Delete environment [bold]{Markup.Escape(environmentId)}[/]{(c.Parse.GetValue(keep) ? "" : " and its volume")}?", defaultValue: false, ct))
                {
                    c.Ui.Note("Not deleted.");
                    return ExitCodes.Failure;
                }
            }

            using (await c.Api.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/api/environments/{Args.Escape(environmentId)}" + (c.Parse.GetValue(keep) ? "?keep_volume=true" : "")), ct))
            {
            }

            c.Ui.Note($"Deleted environment {environmentId}.");
            return ExitCodes.Success;
        });
        return command;
    }

    private static void Print(CommandContext c, DevEnvironment e)
    {
        if (c.Ui.Json)
        {
            c.Ui.WriteJson(e, ApiJson.Default.DevEnvironment);
            return;
        }

        c.Ui.WriteFields([
            ("id", e.Id), ("name", e.Name), ("status", e.Status), ("repo", e.RepoUrl), ("branch", e.Branch), ("commit", e.Commit),
            ("path", e.Path), ("region", e.Region), ("size", e.Size),
            ("volume", e.VolumeId is null && e.VolumeSizeGb is null ? null : $"{e.VolumeId ?? "new"} {e.VolumeSizeGb?.ToString(CultureInfo.InvariantCulture) ?? "?"} GB"),
            ("instance", $"{e.InstanceId} ({e.InstanceState ?? "pending"})"), ("run", e.RunId), ("setup", e.SetupCommand), ("git secret", e.GitCredentialsSecret),
            ("sessions", e.Sessions.Count == 0 ? null : string.Join(", ", e.Sessions)), ("error", e.Error), ("created", Args.Time(e.CreatedAt)),
        ]);
    }
}
