using System.CommandLine;
using Orchestrator.Cli.Api;

namespace Orchestrator.Cli.Commands;

/// <summary><c>orch secrets set|list|delete</c>: the tenant's secrets, which runs read as <c>${{ secrets.NAME }}</c>.</summary>
internal static class SecretCommands
{
    public static Command Build(CliApp app)
    {
        var secrets = Args.Command("secrets", "The tenant's secrets: set, list (names only), delete.", "printf %s \"$TOKEN\" | orch secrets set DEPLOY_TOKEN", "orch secrets list");
        secrets.Aliases.Add("secret");

        var set = Args.Command("set", "Set a secret; the value is read from stdin (all of it) unless --value is given.", "printf %s \"$TOKEN\" | orch secrets set DEPLOY_TOKEN");
        var name = new Argument<string>("NAME");
        var value = new Option<string?>("--value") { Description = "The value (visible in the process list; stdin is safer)." };
        set.Add(name);
        set.Add(value);
        app.SetApiAction(set, async (c, ct) =>
        {
            var secret = c.Parse.GetValue(value) ?? (System.Console.IsInputRedirected ? await System.Console.In.ReadToEndAsync(ct) : null)
                ?? throw new CliException(ExitCodes.Usage, "Give the value on stdin or with --value.");
            var saved = await c.Api.SendJsonAsync(HttpMethod.Put, $"/api/secrets/{Args.Escape(c.Parse.GetValue(name)!)}", new SecretValue(secret), ApiJson.Default.SecretValue, ApiJson.Default.Secret, ct);
            if (c.Ui.Json)
            {
                c.Ui.WriteJson(saved, ApiJson.Default.Secret);
            }
            else
            {
                c.Ui.Note($"secret {saved.Name} set");
            }

            return ExitCodes.Success;
        });
        secrets.Add(set);

        var list = Args.Command("list", "List secret names.", "orch secrets list");
        list.Aliases.Add("ls");
        app.SetApiAction(list, async (c, ct) =>
        {
            var all = await c.Api.GetAsync("/api/secrets", ApiJson.Default.SecretList, ct);
            if (c.Ui.Json)
            {
                c.Ui.WriteJson(all, ApiJson.Default.SecretList);
            }
            else
            {
                c.Ui.WriteTable(["name", "created", "updated"], all.Items.Select(static s => new[] { s.Name, Args.Time(s.CreatedAt), Args.Time(s.UpdatedAt) }));
            }

            return ExitCodes.Success;
        });
        secrets.Add(list);

        var delete = Args.Command("delete", "Delete a secret.", "orch secrets delete DEPLOY_TOKEN");
        delete.Aliases.Add("rm");
        var deleteName = new Argument<string>("NAME");
        delete.Add(deleteName);
        app.SetApiAction(delete, async (c, ct) =>
        {
            using var response = await c.Api.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/api/secrets/{Args.Escape(c.Parse.GetValue(deleteName)!)}"), ct);
            if (!c.Ui.Json)
            {
                c.Ui.Note($"secret {c.Parse.GetValue(deleteName)} deleted");
            }

            return ExitCodes.Success;
        });
        secrets.Add(delete);
        return secrets;
    }
}
