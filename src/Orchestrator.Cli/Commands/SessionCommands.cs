using System.CommandLine;
using System.Net.Http.Headers;
using Orchestrator.Cli.Api;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// <c>orch sessions ...</c>: persistent terminal sessions on an instance (list, create, get, rename, delete, screen,
/// send). A session is named by its id or its name; <c>orch ssh ID --session NAME</c> attaches to one.
/// </summary>
internal static class SessionCommands
{
    public static Command Build(CliApp app)
    {
        var sessions = Args.Command("sessions", "Persistent terminal sessions on an instance: they keep running with nobody attached.",
            "orch sessions list box", "orch sessions create box --name build --command 'make -j4'", "orch ssh box --session build");
        sessions.Aliases.Add("session");
        sessions.Add(List(app));
        sessions.Add(Create(app));
        sessions.Add(Get(app));
        sessions.Add(Rename(app));
        sessions.Add(Delete(app));
        sessions.Add(Screen(app));
        sessions.Add(Send(app));
        return sessions;
    }

    /// <summary>The session with this id, or else this name; made (with that name) when there is none.</summary>
    internal static async Task<Session> FindOrCreateAsync(CommandContext c, string instanceId, string nameOrId, CancellationToken ct) =>
        await FindAsync(c, instanceId, nameOrId, ct)
        ?? await c.Api.SendJsonAsync(HttpMethod.Post, $"{Base(instanceId)}", new CreateSessionRequest(nameOrId, null, null, null, null, null), ApiJson.Default.CreateSessionRequest, ApiJson.Default.Session, ct);

    private static async Task<Session?> FindAsync(CommandContext c, string instanceId, string nameOrId, CancellationToken ct)
    {
        var list = await c.Api.GetAsync(Base(instanceId), ApiJson.Default.SessionList, ct);
        return list.Items.FirstOrDefault(s => s.Id == nameOrId) ?? list.Items.FirstOrDefault(s => s.Name == nameOrId);
    }

    /// <summary>The id of the session named <paramref name="nameOrId"/>; an unknown one is passed on for the API to answer 404.</summary>
    private static async Task<string> ResolveAsync(CommandContext c, string instanceId, string nameOrId, CancellationToken ct) =>
        (await FindAsync(c, instanceId, nameOrId, ct))?.Id ?? nameOrId;

    private static string Base(string instanceId) => $"/api/instances/{Args.Escape(instanceId)}/sessions";

    private static Command List(CliApp app)
    {
        var command = Args.Command("list", "List an instance's sessions with their status (running, exited, ended).", "orch sessions list box", "orch sessions list box -o json | jq -r '.items[].name'");
        command.Aliases.Add("ls");
        var id = new Argument<string>("ID") { Description = "The instance." };
        command.Add(id);
        app.SetApiAction(command, async (c, ct) =>
        {
            var list = await c.Api.GetAsync(Base(c.Parse.GetValue(id)!), ApiJson.Default.SessionList, ct);
            if (c.Ui.Json)
            {
                c.Ui.WriteJson(list, ApiJson.Default.SessionList);
            }
            else
            {
                c.Ui.WriteTable(["id", "name", "status", "attached", "command", "last activity"], list.Items.Select(static s => new[]
                {
                    s.Id, s.Name, Status(s), s.Attached.ToString(System.Globalization.CultureInfo.InvariantCulture), s.Command ?? "(login shell)", Args.Time(s.LastActivityAt),
                }));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Create(CliApp app)
    {
        var command = Args.Command("create", "Start a session running a command (the login shell by default).",
            "orch sessions create box --name work", "orch sessions create box --name build --command 'make -j4' --cwd /srv/app --env CI=1");
        var id = new Argument<string>("ID") { Description = "The instance." };
        var name = new Option<string?>("--name") { Description = "A name (letters, digits, '.', '_', '-'); the session's id when omitted." };
        var run = new Option<string?>("--command") { Description = "The command line to run; the login shell when omitted." };
        var cwd = new Option<string?>("--cwd") { Description = "The directory to start in (it must exist)." };
        var env = new Option<string[]>("--env", "-e") { Description = "Environment variable KEY=VALUE (repeatable; passed to the program, never stored).", AllowMultipleArgumentsPerToken = false };
        command.Add(id);
        command.Add(name);
        command.Add(run);
        command.Add(cwd);
        command.Add(env);
        app.SetApiAction(command, async (c, ct) =>
        {
            var request = new CreateSessionRequest(c.Parse.GetValue(name), c.Parse.GetValue(run), c.Parse.GetValue(cwd), Args.Pairs(c.Parse.GetValue(env), "--env"), null, null);
            Print(c, await c.Api.SendJsonAsync(HttpMethod.Post, Base(c.Parse.GetValue(id)!), request, ApiJson.Default.CreateSessionRequest, ApiJson.Default.Session, ct));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Get(CliApp app)
    {
        var command = Args.Command("get", "Show one session.", "orch sessions get box work");
        var (id, sid) = Ids(command);
        app.SetApiAction(command, async (c, ct) =>
        {
            var instanceId = c.Parse.GetValue(id)!;
            var sessionId = await ResolveAsync(c, instanceId, c.Parse.GetValue(sid)!, ct);
            Print(c, await c.Api.GetAsync($"{Base(instanceId)}/{Args.Escape(sessionId)}", ApiJson.Default.Session, ct));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Rename(CliApp app)
    {
        var command = Args.Command("rename", "Give a session another name.", "orch sessions rename box work build");
        var (id, sid) = Ids(command);
        var name = new Argument<string>("NAME") { Description = "The new name." };
        command.Add(name);
        app.SetApiAction(command, async (c, ct) =>
        {
            var instanceId = c.Parse.GetValue(id)!;
            var sessionId = await ResolveAsync(c, instanceId, c.Parse.GetValue(sid)!, ct);
            Print(c, await c.Api.SendJsonAsync(HttpMethod.Patch, $"{Base(instanceId)}/{Args.Escape(sessionId)}", new RenameSessionRequest(c.Parse.GetValue(name)!), ApiJson.Default.RenameSessionRequest, ApiJson.Default.Session, ct));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Delete(CliApp app)
    {
        var command = Args.Command("delete", "Kill a session and its processes, and forget it.", "orch sessions delete box work");
        command.Aliases.Add("rm");
        var (id, sid) = Ids(command);
        app.SetApiAction(command, async (c, ct) =>
        {
            var instanceId = c.Parse.GetValue(id)!;
            var sessionId = await ResolveAsync(c, instanceId, c.Parse.GetValue(sid)!, ct);
            using (await c.Api.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"{Base(instanceId)}/{Args.Escape(sessionId)}"), ct))
            {
            }

            c.Ui.Note($"Deleted session {sessionId}.");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Screen(CliApp app)
    {
        var command = Args.Command("screen", "Print a session's screen as text (-o json adds the cursor and size).", "orch sessions screen box work", "orch sessions screen box work --scrollback 200");
        var (id, sid) = Ids(command);
        var scrollback = new Option<int?>("--scrollback") { Description = "Lines of history to print above the screen." };
        command.Add(scrollback);
        app.SetApiAction(command, async (c, ct) =>
        {
            var instanceId = c.Parse.GetValue(id)!;
            var sessionId = await ResolveAsync(c, instanceId, c.Parse.GetValue(sid)!, ct);
            var path = $"{Base(instanceId)}/{Args.Escape(sessionId)}/screen" + (c.Parse.GetValue(scrollback) is { } lines ? $"?scrollback={lines}" : "");
            if (c.Ui.Json)
            {
                c.Ui.WriteJson(await c.Api.GetAsync(path, ApiJson.Default.JsonElement, ct), ApiJson.Default.JsonElement);
                return ExitCodes.Success;
            }

            var request = new HttpRequestMessage(HttpMethod.Get, path);
            // The API answers JSON to a JSON-only Accept; text/plain asks for the screen itself.
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
            using var response = await c.Api.SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            System.Console.Out.Write(text.EndsWith('\n') ? text : text + "\n");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Send(CliApp app)
    {
        var command = Args.Command("send", "Type into a session: --text literally, then each --key in order (tmux key names such as Enter, C-c, Up, Escape).",
            "orch sessions send box work --text 'make test' --key Enter", "orch sessions send box work --key C-c");
        var (id, sid) = Ids(command);
        var text = new Option<string?>("--text") { Description = "Text typed literally." };
        var keys = new Option<string[]>("--key") { Description = "A key to press, after the text (repeatable).", AllowMultipleArgumentsPerToken = false };
        command.Add(text);
        command.Add(keys);
        app.SetApiAction(command, async (c, ct) =>
        {
            var typed = c.Parse.GetValue(text);
            var pressed = c.Parse.GetValue(keys) ?? [];
            if (typed is null && pressed.Length == 0)
            {
                throw new CliException(ExitCodes.Usage, "Give --text, --key or both.");
            }

            var instanceId = c.Parse.GetValue(id)!;
            var path = $"{Base(instanceId)}/{Args.Escape(await ResolveAsync(c, instanceId, c.Parse.GetValue(sid)!, ct))}/input";
            // The API takes text or keys per request, so text goes first and the keys after it, in the order given.
            if (typed is not null)
            {
                await PostInputAsync(c, path, new SessionInputRequest(typed, null), ct);
            }

            if (pressed.Length > 0)
            {
                await PostInputAsync(c, path, new SessionInputRequest(null, pressed), ct);
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task PostInputAsync(CommandContext c, string path, SessionInputRequest input, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(input, ApiJson.Default.SessionInputRequest), System.Text.Encoding.UTF8, "application/json"),
        };
        using var response = await c.Api.SendAsync(request, ct);
    }

    private static (Argument<string> Id, Argument<string> Sid) Ids(Command command)
    {
        var id = new Argument<string>("ID") { Description = "The instance." };
        var sid = new Argument<string>("SID") { Description = "The session's id or name." };
        command.Add(id);
        command.Add(sid);
        return (id, sid);
    }

    private static string Status(Session s) => s.Status switch
    {
        "exited" => $"exited ({s.ExitCode})",
        "ended" when s.EndedReason is { } reason => $"ended ({reason})",
        _ => s.Status,
    };

    private static void Print(CommandContext c, Session s)
    {
        if (c.Ui.Json)
        {
            c.Ui.WriteJson(s, ApiJson.Default.Session);
            return;
        }

        c.Ui.WriteFields([
            ("id", s.Id), ("name", s.Name), ("status", Status(s)), ("command", s.Command ?? "(login shell)"), ("cwd", s.Cwd),
            ("attached", s.Attached.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("created", Args.Time(s.CreatedAt)),
            ("last activity", Args.Time(s.LastActivityAt)), ("ended", Args.Time(s.EndedAt)),
        ]);
    }
}
