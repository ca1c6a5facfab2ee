using System.CommandLine;
using Orchestrator.Cli.Api;

namespace Orchestrator.Cli.Commands;

/// <summary><c>orch tenants ...</c> and <c>orch keys ...</c>: need the admin key (ORCH_KEY or a context made with it).</summary>
internal static class AdminCommands
{
    public static Command Tenants(CliApp app)
    {
        var tenants = Args.Command("tenants", "Tenants (admin key).", "ORCH_KEY=$ADMIN_KEY orch tenants list", "ORCH_KEY=$ADMIN_KEY orch tenants create acme --display-name 'Acme'");
        tenants.Aliases.Add("tenant");

        var create = Args.Command("create", "Create a tenant (the same again is a no-op).", "orch tenants create acme --display-name Acme");
        var id = new Argument<string>("ID");
        var display = new Option<string?>("--display-name") { Description = "A name for people." };
        create.Add(id);
        create.Add(display);
        app.SetApiAction(create, async (c, ct) =>
        {
            Print(c, await c.Api.SendJsonAsync(HttpMethod.Post, "/api/tenants", new CreateTenantRequest(c.Parse.GetValue(id)!, c.Parse.GetValue(display)), ApiJson.Default.CreateTenantRequest, ApiJson.Default.Tenant, ct));
            return ExitCodes.Success;
        });
        tenants.Add(create);

        tenants.Add(List(app));

        var get = Args.Command("get", "Show a tenant and its quotas.", "orch tenants get acme");
        var getId = new Argument<string>("ID");
        get.Add(getId);
        app.SetApiAction(get, async (c, ct) =>
        {
            Print(c, await c.Api.GetAsync($"/api/tenants/{Args.Escape(c.Parse.GetValue(getId)!)}", ApiJson.Default.Tenant, ct));
            return ExitCodes.Success;
        });
        tenants.Add(get);

        var quotas = Args.Command("quotas", "Set a tenant's quotas (only the ones given change).", "orch tenants quotas acme --max-instances 10 --max-concurrent-runs 5");
        var quotaId = new Argument<string>("ID");
        var instances = new Option<int?>("--max-instances");
        var runs = new Option<int?>("--max-concurrent-runs");
        var depth = new Option<int?>("--max-run-depth");
        quotas.Add(quotaId);
        quotas.Add(instances);
        quotas.Add(runs);
        quotas.Add(depth);
        app.SetApiAction(quotas, async (c, ct) =>
        {
            var body = new Quotas(c.Parse.GetValue(instances), c.Parse.GetValue(runs), c.Parse.GetValue(depth));
            Print(c, await c.Api.SendJsonAsync(HttpMethod.Put, $"/api/tenants/{Args.Escape(c.Parse.GetValue(quotaId)!)}/quotas", body, ApiJson.Default.Quotas, ApiJson.Default.Tenant, ct));
            return ExitCodes.Success;
        });
        tenants.Add(quotas);
        return tenants;
    }

    private static Command List(CliApp app)
    {
        var command = Args.Command(
            "list",
            "List tenants by id: all of them, or one page with --limit (--cursor continues after the id it names).",
            "orch tenants list",
            "orch tenants list -o json | jq -r '.items[].id'",
            "orch tenants list --limit 20 --cursor acme");
        command.Aliases.Add("ls");
        var limit = new Option<int?>("--limit", "-n") { Description = "Tenants in the page, from 1 to 100; without it, every tenant." };
        var cursor = new Option<string?>("--cursor") { Description = "Start after this tenant id (the next_cursor of a page)." };
        command.Add(limit);
        command.Add(cursor);
        app.SetApiAction(command, async (c, ct) =>
        {
            var pageSize = c.Parse.GetValue(limit);
            var after = c.Parse.GetValue(cursor);
            var items = new List<TenantSummary>();
            TenantList page;
            do
            {
                page = await c.Api.GetAsync(
                    string.Create(System.Globalization.CultureInfo.InvariantCulture, $"/api/tenants?limit={pageSize ?? 100}") + (after is null ? "" : $"&cursor={Args.Escape(after)}"),
                    ApiJson.Default.TenantList,
                    ct);
                items.AddRange(page.Items);
                after = page.NextCursor;
            }
            while (pageSize is null && after is not null);

            // With --limit the answer is that one page, whose next_cursor says where the next one starts.
            var list = new TenantList(items, pageSize is null ? null : page.NextCursor);
            if (c.Ui.Json)
            {
                c.Ui.WriteJson(list, ApiJson.Default.TenantList);
                return ExitCodes.Success;
            }

            c.Ui.WriteTable(["id", "display name", "created"], list.Items.Select(static t => new[] { t.Id, t.DisplayName, Args.Time(t.CreatedAt) }));
            if (list.NextCursor is { } next)
            {
                c.Ui.Note(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"more: orch tenants list --limit {pageSize} --cursor {next}"));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    public static Command Keys(CliApp app)
    {
        var keys = Args.Command("keys", "A tenant's API keys (admin key).", "orch keys create acme --name ci", "orch keys list acme", "orch keys revoke acme KEY_ID");
        keys.Aliases.Add("key");

        var create = Args.Command("create", "Create a key; it is printed once.", "orch keys create acme --name ci --expires-in-days 90");
        var tenant = new Argument<string>("TENANT");
        var name = new Option<string?>("--name");
        var days = new Option<int?>("--expires-in-days");
        create.Add(tenant);
        create.Add(name);
        create.Add(days);
        app.SetApiAction(create, async (c, ct) =>
        {
            var key = await c.Api.SendJsonAsync(HttpMethod.Post, $"/api/tenants/{Args.Escape(c.Parse.GetValue(tenant)!)}/keys", new CreateKeyRequest(c.Parse.GetValue(name), c.Parse.GetValue(days)), ApiJson.Default.CreateKeyRequest, ApiJson.Default.CreatedApiKey, ct);
            if (c.Ui.Json)
            {
                c.Ui.WriteJson(key, ApiJson.Default.CreatedApiKey);
            }
            else
            {
                c.Ui.Note($"key {key.Id} ({key.Name}); it is not shown again:");
                c.Ui.Line(key.Key);
            }

            return ExitCodes.Success;
        });
        keys.Add(create);

        var list = Args.Command("list", "List a tenant's keys (never the keys themselves).", "orch keys list acme");
        list.Aliases.Add("ls");
        var listTenant = new Argument<string>("TENANT");
        list.Add(listTenant);
        app.SetApiAction(list, async (c, ct) =>
        {
            var all = await c.Api.GetAsync($"/api/tenants/{Args.Escape(c.Parse.GetValue(listTenant)!)}/keys", ApiJson.Default.ApiKeyList, ct);
            if (c.Ui.Json)
            {
                c.Ui.WriteJson(all, ApiJson.Default.ApiKeyList);
            }
            else
            {
                c.Ui.WriteTable(["id", "name", "prefix", "status", "created", "expires"], all.Items.Select(static k => new[] { k.Id, k.Name, k.Prefix, k.Status, Args.Time(k.CreatedAt), Args.Time(k.ExpiresAt) }));
            }

            return ExitCodes.Success;
        });
        keys.Add(list);

        var revoke = Args.Command("revoke", "Revoke a key.", "orch keys revoke acme KEY_ID");
        var revokeTenant = new Argument<string>("TENANT");
        var keyId = new Argument<string>("KEY_ID");
        revoke.Add(revokeTenant);
        revoke.Add(keyId);
        app.SetApiAction(revoke, async (c, ct) =>
        {
            using var response = await c.Api.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/api/tenants/{Args.Escape(c.Parse.GetValue(revokeTenant)!)}/keys/{Args.Escape(c.Parse.GetValue(keyId)!)}"), ct);
            if (!c.Ui.Json)
            {
                c.Ui.Note($"revoked {c.Parse.GetValue(keyId)}");
            }

            return ExitCodes.Success;
        });
        keys.Add(revoke);
        return keys;
    }

    private static void Print(CommandContext c, Tenant t)
    {
        if (c.Ui.Json)
        {
            c.Ui.WriteJson(t, ApiJson.Default.Tenant);
            return;
        }

        c.Ui.WriteFields([("id", t.Id), ("display name", t.DisplayName), ("max instances", t.Quotas.MaxInstances?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("max concurrent runs", t.Quotas.MaxConcurrentRuns?.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("max run depth", t.Quotas.MaxRunDepth?.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("created", Args.Time(t.CreatedAt))]);
    }
}
