using System.CommandLine;
using Orchestrator.Cli.Api;
using Orchestrator.Cli.Config;

namespace Orchestrator.Cli.Commands;

/// <summary><c>orch login</c> and <c>orch context list|use|remove</c>.</summary>
internal static class ConnectCommands
{
    public static Command Login(CliApp app)
    {
        var command = Args.Command("login", "Save a server and key as a context (checked against the server first) and make it current. Without --key the key is read from stdin.",
            "orch login --url https://orchestrator.example.com --key $KEY",
            "pass show orch | orch login --url https://orchestrator.example.com --context prod");
        var url = new Option<string>("--url") { Description = "The API's base URL.", Required = true };
        var key = new Option<string?>("--key") { Description = "The API key (else read from stdin)." };
        command.Add(url);
        command.Add(key);
        app.SetLocalAction(command, async (parse, ui, ct) =>
        {
            var secret = parse.GetValue(key);
            if (secret is null)
            {
                if (!System.Console.IsInputRedirected)
                {
                    System.Console.Error.Write("API key: ");
                }

                secret = (await System.Console.In.ReadLineAsync(ct))?.Trim();
            }

            if (string.IsNullOrEmpty(secret))
            {
                throw new CliException(ExitCodes.Usage, "No key given (--key or stdin).");
            }

            var target = parse.GetValue(url)!;
            if (!Uri.TryCreate(target, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new CliException(ExitCodes.Usage, $"--url '{target}' is not an http(s) URL.");
            }

            using (var api = new ApiClient(new Connection(uri, secret, "login")))
            {
                var version = await api.GetAsync("/api/version", ApiJson.Default.VersionInfo, ct);
                ui.Note($"{uri}: Orchestrator {version.Version}, cluster {version.ClusterId}");
            }

            var name = parse.GetValue(app.Context) ?? "default";
            var config = app.Store.Load();
            config.Contexts[name] = new CliContext(uri.ToString().TrimEnd('/'), secret);
            app.Store.Save(config with { Current = name });
            ui.Note($"context '{name}' saved to {app.Store.Path} and made current");
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command ContextCommand(CliApp app)
    {
        var context = Args.Command("context", "Saved servers: list, use, remove.", "orch context list", "orch context use prod");

        var list = Args.Command("list", "List contexts; the current one is marked.");
        list.Aliases.Add("ls");
        app.SetLocalAction(list, (parse, ui, ct) =>
        {
            var config = app.Store.Load();
            var views = config.Contexts.OrderBy(static c => c.Key, StringComparer.Ordinal).Select(c => new ContextView(c.Key, c.Value.Url, c.Key == config.Current)).ToList();
            if (ui.Json)
            {
                ui.WriteJson<IReadOnlyList<ContextView>>(views, ApiJson.Default.IReadOnlyListContextView);
            }
            else
            {
                ui.WriteTable(["current", "name", "url"], views.Select(static v => new[] { v.Current ? "*" : "", v.Name, v.Url }));
            }

            return Task.FromResult(ExitCodes.Success);
        });
        context.Add(list);

        var use = Args.Command("use", "Make a context current.", "orch context use prod");
        var useName = new Argument<string>("NAME");
        use.Add(useName);
        app.SetLocalAction(use, (parse, ui, ct) =>
        {
            var config = app.Store.Load();
            var name = parse.GetValue(useName)!;
            if (!config.Contexts.ContainsKey(name))
            {
                throw new CliException(ExitCodes.NotFound, $"No context '{name}'; see 'orch context list'.");
            }

            app.Store.Save(config with { Current = name });
            ui.Note($"using context '{name}'");
            return Task.FromResult(ExitCodes.Success);
        });
        context.Add(use);

        var remove = Args.Command("remove", "Forget a context and its key.", "orch context remove old");
        remove.Aliases.Add("rm");
        var removeName = new Argument<string>("NAME");
        remove.Add(removeName);
        app.SetLocalAction(remove, (parse, ui, ct) =>
        {
            var config = app.Store.Load();
            var name = parse.GetValue(removeName)!;
            if (!config.Contexts.Remove(name))
            {
                throw new CliException(ExitCodes.NotFound, $"No context '{name}'.");
            }

            app.Store.Save(config with { Current = config.Current == name ? null : config.Current });
            ui.Note($"removed context '{name}'");
            return Task.FromResult(ExitCodes.Success);
        });
        context.Add(remove);
        return context;
    }
}
