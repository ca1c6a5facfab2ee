using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Api;
using Spectre.Console;

namespace Orchestrator.Cli.Commands;

/// <summary><c>orch instances ...</c>: create, list, get, start, stop, restart, destroy, events.</summary>
internal static class InstanceCommands
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    public static Command Build(CliApp app)
    {
        var instances = Args.Command("instances", "Machines: create, list, inspect, start, stop, destroy.", "orch instances list", "orch instances create box --region ams --size shared-cpu-1x --volume 10:/data");
        instances.Aliases.Add("instance");
        instances.Add(Create(app));
        instances.Add(List(app));
        instances.Add(Get(app));
        foreach (var action in new[] { "start", "stop", "restart" })
        {
            instances.Add(Transition(app, action));
        }

        instances.Add(Resize(app));
        instances.Add(ExtendVolume(app));
        instances.Add(Destroy(app));
        instances.Add(Events(app));
        return instances;
    }

    private static Command Create(CliApp app)
    {
        var command = Args.Command("create", "Create an instance and wait until it has started (events are shown as they happen).",
            "orch instances create box --region ams --size shared-cpu-1x",
            "orch instances create db --region ams --size shared-cpu-2x --volume 10:/data --env TZ=UTC --no-wait");
        var name = new Argument<string>("NAME") { Description = "The instance's name (lowercase letters, digits and dashes)." };
        var region = new Option<string>("--region") { Description = "Fly region, such as ams.", Required = true };
        var size = new Option<string>("--size") { Description = "Size preset, such as shared-cpu-1x.", Required = true };
        var volume = new Option<string?>("--volume") { Description = "A new volume, SIZE_GB:PATH (e.g. 10:/data)." };
        var env = new Option<string[]>("--env", "-e") { Description = "Environment variable KEY=VALUE (repeatable).", AllowMultipleArgumentsPerToken = false };
        var noWait = new Option<bool>("--no-wait") { Description = "Return once the instance is accepted, without waiting for it to start." };
        command.Add(name);
        command.Add(region);
        command.Add(size);
        command.Add(volume);
        command.Add(env);
        command.Add(noWait);
        app.SetApiAction(command, async (c, ct) =>
        {
            VolumeRequest? volumeRequest = null;
            if (c.Parse.GetValue(volume) is { } v)
            {
                var parts = v.Split(':', 2);
                if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var gb))
                {
                    throw new CliException(ExitCodes.Usage, $"--volume '{v}' is not SIZE_GB:PATH, such as 10:/data.");
                }

                volumeRequest = new VolumeRequest(gb, parts[1]);
            }

            var request = new CreateInstanceRequest(c.Parse.GetValue(name)!, c.Parse.GetValue(region)!, c.Parse.GetValue(size)!, volumeRequest, Args.Pairs(c.Parse.GetValue(env), "--env"));
            var instance = await c.Api.SendJsonAsync(HttpMethod.Post, "/api/instances", request, ApiJson.Default.CreateInstanceRequest, ApiJson.Default.Instance, ct);
            if (!c.Parse.GetValue(noWait))
            {
                instance = await WaitForAsync(c, instance.Id, "started", ct);
            }

            Print(c, instance);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Polls until the instance reaches <paramref name="state"/>, printing its new events; failed ends with an error.</summary>
    internal static async Task<Instance> WaitForAsync(CommandContext c, string id, string state, CancellationToken ct)
    {
        long seen = 0;
        async Task<Instance> PollAsync(Action<string> status)
        {
            while (true)
            {
                var events = await c.Api.GetAsync($"/api/instances/{Args.Escape(id)}/events?limit=100" + (seen > 0 ? $"&cursor={seen}" : ""), ApiJson.Default.InstanceEventList, ct);
                foreach (var e in events.Items)
                {
                    seen = Math.Max(seen, e.Sequence);
                    c.Ui.Note($"  {Args.Time(e.At)}  {e.Kind,-20} {e.Message}");
                }

                var instance = await c.Api.GetAsync($"/api/instances/{Args.Escape(id)}", ApiJson.Default.Instance, ct);
                status($"{instance.Id}: {instance.State}");
                if (instance.State == state)
                {
                    return instance;
                }

                if (instance.State is "failed" or "destroyed")
                {
                    throw new CliException(ExitCodes.Failure, $"Instance {instance.Id} is {instance.State}: {instance.LastError?.Message ?? "no reason recorded"}");
                }

                await Task.Delay(PollInterval, ct);
            }
        }

        if (c.Ui.StderrInteractive && !c.Ui.Json)
        {
            return await c.Ui.Err.Status().Spinner(Spinner.Known.Dots).StartAsync($"Waiting for {id} to be {state}", ctx => PollAsync(s => ctx.Status(Markup.Escape(s))));
        }

        return await PollAsync(static _ => { });
    }

    private static Command List(CliApp app)
    {
        var command = Args.Command("list", "List instances.", "orch instances list --state started", "orch instances list -o json | jq -r '.items[].id'");
        command.Aliases.Add("ls");
        var state = new Option<string?>("--state") { Description = "Only instances in this state (started, stopped, failed, ...)." };
        var watch = ListWatch.Option("Keep listing as states change (Ctrl-C to stop).");
        command.Add(state);
        command.Add(watch);
        app.SetApiAction(command, async (c, ct) =>
        {
            var query = c.Parse.GetValue(state) is { } s ? $"&state={Args.Escape(s)}" : "";
            var watching = c.Parse.GetValue(watch);
            return await ListWatch.RunAsync(
                watching,
                async token =>
                {
                    var items = new List<Instance>();
                    string? cursor = null;
                    do
                    {
                        var page = await c.Api.GetAsync($"/api/instances?limit=100{query}" + (cursor is null ? "" : $"&cursor={Args.Escape(cursor)}"), ApiJson.Default.InstanceList, token);
                        items.AddRange(page.Items);
                        cursor = page.NextCursor;
                    }
                    while (cursor is not null);

                    return new InstanceList(items, null);
                },
                static list => string.Join('\n', list.Items.Select(static i => $"{i.Id} {i.State}")),
                list =>
                {
                    if (c.Ui.Json)
                    {
                        c.Ui.WriteJson(list, ApiJson.Default.InstanceList, indented: !watching);
                    }
                    else
                    {
                        c.Ui.WriteTable(["id", "state", "region", "size", "ip", "updated"], list.Items.Select(static i => new[] { i.Id, i.State, i.Region, i.Size.Preset, i.PrivateIp, Args.Time(i.UpdatedAt) }));
                    }
                },
                ct);
        });
        return command;
    }

    private static Command Get(CliApp app)
    {
        var command = Args.Command("get", "Show one instance.", "orch instances get box");
        var id = new Argument<string>("ID");
        command.Add(id);
        app.SetApiAction(command, async (c, ct) =>
        {
            Print(c, await c.Api.GetAsync($"/api/instances/{Args.Escape(c.Parse.GetValue(id)!)}", ApiJson.Default.Instance, ct));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Transition(CliApp app, string action)
    {
        var command = Args.Command(action, $"Ask the instance to {action}; waits until it has settled unless --no-wait.", $"orch instances {action} box");
        var id = new Argument<string>("ID");
        var noWait = new Option<bool>("--no-wait") { Description = "Return once accepted." };
        command.Add(id);
        command.Add(noWait);
        app.SetApiAction(command, async (c, ct) =>
        {
            var instanceId = c.Parse.GetValue(id)!;
            var instance = await c.Api.SendAsync(HttpMethod.Post, $"/api/instances/{Args.Escape(instanceId)}/{action}", ApiJson.Default.Instance, ct);
            if (!c.Parse.GetValue(noWait))
            {
                instance = await WaitForAsync(c, instanceId, action == "stop" ? "stopped" : "started", ct);
            }

            Print(c, instance);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Resize(CliApp app)
    {
        var command = Args.Command("resize", "Give the instance another size preset; Fly restarts it with the new size (waits for that unless --no-wait).", "orch instances resize box --size shared-cpu-2x");
        var id = new Argument<string>("ID");
        var size = new Option<string>("--size") { Description = "The new size preset.", Required = true };
        var noWait = new Option<bool>("--no-wait") { Description = "Return once accepted." };
        command.Add(id);
        command.Add(size);
        command.Add(noWait);
        app.SetApiAction(command, async (c, ct) =>
        {
            var instanceId = c.Parse.GetValue(id)!;
            var instance = await c.Api.SendJsonAsync(HttpMethod.Patch, $"/api/instances/{Args.Escape(instanceId)}", new ResizeRequest(c.Parse.GetValue(size)!), ApiJson.Default.ResizeRequest, ApiJson.Default.Instance, ct);
            if (!c.Parse.GetValue(noWait) && instance.DesiredState == "started")
            {
                instance = await WaitForAsync(c, instanceId, "started", ct);
            }

            Print(c, instance);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command ExtendVolume(CliApp app)
    {
        var command = Args.Command("extend-volume", "Grow the instance's volume (volumes never shrink).", "orch instances extend-volume box --size-gb 20");
        var id = new Argument<string>("ID");
        var sizeGb = new Option<int>("--size-gb") { Description = "The volume's new size in GB.", Required = true };
        command.Add(id);
        command.Add(sizeGb);
        app.SetApiAction(command, async (c, ct) =>
        {
            Print(c, await c.Api.SendJsonAsync(HttpMethod.Post, $"/api/instances/{Args.Escape(c.Parse.GetValue(id)!)}/volume/extend", new ExtendVolumeRequest(c.Parse.GetValue(sizeGb)), ApiJson.Default.ExtendVolumeRequest, ApiJson.Default.Instance, ct));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Destroy(CliApp app)
    {
        var command = Args.Command("destroy", "Destroy an instance (and its volume unless --keep-volume). Asks first on a terminal; needs --yes otherwise.", "orch instances destroy box --yes");
        var id = new Argument<string>("ID");
        var keep = new Option<bool>("--keep-volume") { Description = "Keep the volume, to mount on a later instance." };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask." };
        command.Add(id);
        command.Add(keep);
        command.Add(yes);
        app.SetApiAction(command, async (c, ct) =>
        {
            var instanceId = c.Parse.GetValue(id)!;
            if (!c.Parse.GetValue(yes))
            {
                if (System.Console.IsInputRedirected || !c.Ui.StderrInteractive)
                {
                    throw new CliException(ExitCodes.Usage, $"Refusing to destroy {instanceId} without --yes when not on a terminal.");
                }

                if (!await c.Ui.Err.ConfirmAsync($"Destroy instance [bold]{Markup.Escape(instanceId)}[/]{(c.Parse.GetValue(keep) ? "" : " and its volume")}?", defaultValue: false, ct))
                {
                    c.Ui.Note("Not destroyed.");
                    return ExitCodes.Failure;
                }
            }

            var instance = await c.Api.SendAsync(HttpMethod.Delete, $"/api/instances/{Args.Escape(instanceId)}" + (c.Parse.GetValue(keep) ? "?keep_volume=true" : ""), ApiJson.Default.Instance, ct);
            Print(c, instance);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Events(CliApp app)
    {
        var command = Args.Command("events", "Show an instance's lifecycle events.", "orch instances events box --follow");
        var id = new Argument<string>("ID");
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new events (Ctrl-C to stop)." };
        command.Add(id);
        command.Add(follow);
        app.SetApiAction(command, async (c, ct) =>
        {
            var instanceId = Args.Escape(c.Parse.GetValue(id)!);
            string? cursor = null;
            while (true)
            {
                var page = await c.Api.GetAsync($"/api/instances/{instanceId}/events?limit=100" + (cursor is null ? "" : $"&cursor={cursor}"), ApiJson.Default.InstanceEventList, ct);
                foreach (var e in page.Items)
                {
                    if (c.Ui.Json)
                    {
                        c.Ui.WriteJson(e, ApiJson.Default.InstanceEvent, indented: false);
                    }
                    else
                    {
                        c.Ui.Line($"{e.Sequence,5}  {Args.Time(e.At)}  {e.Kind,-22} {e.Message}");
                    }
                }

                cursor = page.Items.Count > 0 ? page.Items[^1].Sequence.ToString(CultureInfo.InvariantCulture) : cursor;
                if (page.NextCursor is not null)
                {
                    cursor = page.NextCursor;
                    continue;
                }

                if (!c.Parse.GetValue(follow))
                {
                    return ExitCodes.Success;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        });
        return command;
    }

    private static void Print(CommandContext c, Instance i)
    {
        if (c.Ui.Json)
        {
            c.Ui.WriteJson(i, ApiJson.Default.Instance);
            return;
        }

        c.Ui.WriteFields([
            ("id", i.Id), ("state", i.State), ("desired", i.DesiredState), ("region", i.Region), ("size", i.Size.Preset),
            ("machine", i.MachineId), ("private ip", i.PrivateIp), ("volume", i.VolumeId is null ? null : $"{i.VolumeId} {i.VolumeSizeGb} GB at {i.VolumePath}"),
            ("host key", i.SshHostKeyFingerprint), ("last error", i.LastError?.Message), ("created", Args.Time(i.CreatedAt)), ("updated", Args.Time(i.UpdatedAt)),
        ]);
    }
}
