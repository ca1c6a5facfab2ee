using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Orchestrator.Testing;

namespace Orchestrator.Web.Tests;

/// <summary>
/// The console as a person uses it, in chromium against a real silo: sign in, instances and their terminal,
/// workflows with located errors, runs with a live timeline, cancel, tenant isolation, and the admin page.
/// </summary>
[Collection(SharedConsole.Name)]
public sealed partial class ConsoleTests(ConsoleFixture fixture)
{
    private static readonly PageAssertionsToHaveURLOptions s_urlWait = new() { Timeout = 30_000 };

    [Fact]
    public async Task CreatesAnInstanceFromTheDialogAndTypesIntoItsTerminal()
    {
        var page = await fixture.NewPageAsync();
        await page.SignInAsync(fixture.TenantKey);
        await page.ScreenshotAsync(fixture, "instances-empty");

        await page.GetByRole(AriaRole.Button, new() { Name = "Create instance" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog);
        await dialog.GetByLabel("Name").FillAsync("web-term");
        await dialog.GetByLabel("Region").FillAsync("ams");
        await dialog.GetByLabel("Environment (KEY=VALUE per line)").FillAsync("GREETING=hello");
        await page.ScreenshotAsync(fixture, "instances-create-dialog");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Create", Exact = true }).ClickAsync();

        var row = page.Locator("tr[data-instance='web-term']");
        await Assertions.Expect(row.Locator(".badge")).ToHaveTextAsync("started", new() { Timeout = 60_000 });
        await page.ScreenshotAsync(fixture, "instances");
        await page.AssertAccessibleAsync(fixture, "/ui/instances");

        await row.GetByRole(AriaRole.Link, new() { Name = "web-term" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/ui/instances/web-term$"), s_urlWait);
        await page.GetByLabel("Command", new() { Exact = true }).FillAsync("echo $GREETING from $(hostname)");
        await page.GetByRole(AriaRole.Button, new() { Name = "Run" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("exec-exit")).ToContainTextAsync("exit 0");
        await Assertions.Expect(page.GetByTestId("exec-output")).ToContainTextAsync("hello from");
        await page.ScreenshotAsync(fixture, "instance-detail");
        await page.AssertAccessibleAsync(fixture, "/ui/instances/web-term");

        await page.GetByRole(AriaRole.Link, new() { Name = "Open terminal" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("terminal-status")).ToHaveTextAsync("connected");
        await page.Locator(".xterm-helper-textarea").FocusAsync();
        await page.Keyboard.TypeAsync("echo $((6*7))\n");
        // The answer is a screen row of its own, below the echoed command.
        await Assertions.Expect(page.Locator(".xterm-rows > div").Filter(new() { HasTextRegex = AnswerRow() }).First).ToBeVisibleAsync();
        await page.ScreenshotAsync(fixture, "instance-terminal");
        await page.AssertAccessibleAsync(fixture, "/ui/instances/web-term/terminal");

        // Resizing the window resizes the terminal: the shell sees the new width.
        await page.SetViewportSizeAsync(900, 700);
        await page.Keyboard.TypeAsync("clear; echo cols=$(tput cols)\n");
        var narrow = await ColumnsShownAsync(page);
        await page.SetViewportSizeAsync(1280, 800);
        await page.Keyboard.TypeAsync("clear; echo cols=$(tput cols)\n");
        await Assertions.Expect(page.Locator(".xterm-rows")).Not.ToContainTextAsync($"cols={narrow}");
        Assert.True(await ColumnsShownAsync(page) > narrow);

        await page.Keyboard.TypeAsync("exit 3\n");
        await Assertions.Expect(page.GetByTestId("terminal-status")).ToContainTextAsync("status 3");
        await page.GetByRole(AriaRole.Button, new() { Name = "Reconnect" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("terminal-status")).ToHaveTextAsync("connected");
    }

    [Fact]
    public async Task RegistersAWorkflowShowingTheErrorAtItsLineThenRunsItToSuccessWithEachStepsOutput()
    {
        var page = await fixture.NewPageAsync();
        await page.SignInAsync(fixture.TenantKey);
        await page.GotoAsync("/ui/workflows");
        await page.ScreenshotAsync(fixture, "workflows");
        await page.AssertAccessibleAsync(fixture, "/ui/workflows");
        await page.GetByRole(AriaRole.Button, new() { Name = "Register a workflow" }).ClickAsync();

        // Line 9 names a step type that does not exist.
        await SetEditorTextAsync(page, Workflow("greet", "ssh.execute"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Register" }).ClickAsync();
        var error = page.GetByTestId("workflow-error");
        await Assertions.Expect(error).ToContainTextAsync("line 9, column 11");
        await Assertions.Expect(page.Locator(".cm-lintRange-error")).Not.ToHaveCountAsync(0);
        await page.ScreenshotAsync(fixture, "workflow-register-error");
        await page.AssertAccessibleAsync(fixture, "/ui/workflows/~new");

        await SetEditorTextAsync(page, Workflow("greet", "ssh.exec"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Register" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/ui/workflows/greet\\?version=1$"), s_urlWait);
        await page.GetByRole(AriaRole.Button, new() { Name = "Start run" }).WaitForAsync();
        await page.ScreenshotAsync(fixture, "workflow-detail");
        await page.AssertAccessibleAsync(fixture, "/ui/workflows/greet");

        await page.GetByLabel(new Regex("^greeting")).FillAsync("bonjour");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start run" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/ui/runs/"), s_urlWait);
        await Assertions.Expect(page.Locator("h1 .badge")).ToHaveTextAsync("succeeded", new() { Timeout = 90_000 });
        await page.Locator("[data-step='say']").ClickAsync();
        await Assertions.Expect(page.GetByTestId("step-stdout")).ToContainTextAsync("bonjour from the box");
        await page.Locator("[data-step='count']").ClickAsync();
        await Assertions.Expect(page.GetByTestId("step-stdout")).ToContainTextAsync("1\n2\n3");
        await Assertions.Expect(page.Locator(".timeline-bar")).ToHaveCountAsync(4);
        await page.ScreenshotAsync(fixture, "run-succeeded");
        await page.AssertAccessibleAsync(fixture, "/ui/runs/{id}");

        await page.GotoAsync("/ui/runs?status=succeeded");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "greet" }).First).ToBeVisibleAsync();
        await page.ScreenshotAsync(fixture, "runs");
        await page.AssertAccessibleAsync(fixture, "/ui/runs");
    }

    [Fact]
    public async Task CancelsARunningRun()
    {
        using var api = Api(fixture.TenantKey);
        using (var registered = await api.PostAsync("/api/workflows", new StringContent("""
            name: waiter
            steps:
              - id: hold
                uses: wait_for_signal
                with: { name: go }
            """, System.Text.Encoding.UTF8, "application/yaml")))
        {
            Assert.True(registered.IsSuccessStatusCode, await registered.Content.ReadAsStringAsync());
        }

        var page = await fixture.NewPageAsync();
        await page.SignInAsync(fixture.TenantKey);
        await page.GotoAsync("/ui/workflows/waiter");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start run" }).ClickAsync();
        await Assertions.Expect(page.Locator("h1 .badge")).ToHaveTextAsync("waiting", new() { Timeout = 30_000 });
        await page.ScreenshotAsync(fixture, "run-waiting");
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" }).ClickAsync();
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Cancel run" }).ClickAsync();
        await Assertions.Expect(page.Locator("h1 .badge")).ToHaveTextAsync("cancelled", new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Retry" })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task StartsAPersistentSessionAttachesToItAndFindsItStillRunningAfterLeaving()
    {
        using var api = Api(fixture.TenantKey);
        using (var created = await api.PostAsJsonAsync("/api/instances?wait=started", new { name = "web-sessions", region = "ams", size = "shared-cpu-1x" }))
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        var page = await fixture.NewPageAsync();
        await page.SignInAsync(fixture.TenantKey);
        await page.GotoAsync("/ui/instances/web-sessions");
        await page.GetByLabel("Session name").FillAsync("work");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start session" }).ClickAsync();
        var row = page.Locator("tr[data-session]").Filter(new() { HasText = "work" });
        await Assertions.Expect(row.Locator(".badge")).ToHaveTextAsync("running");
        await page.ScreenshotAsync(fixture, "instance-sessions");

        await row.GetByRole(AriaRole.Link, new() { Name = "Attach to work" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("terminal-status")).ToHaveTextAsync("connected");
        await page.Locator(".xterm-helper-textarea").FocusAsync();
        await page.Keyboard.TypeAsync("echo $((6*7))\n");
        await Assertions.Expect(page.Locator(".xterm-rows > div").Filter(new() { HasTextRegex = AnswerRow() }).First).ToBeVisibleAsync();
        await page.ScreenshotAsync(fixture, "session-terminal");

        // Leaving the page detaches; the session and what it printed stay on the machine.
        await page.GotoAsync("/ui/instances/web-sessions");
        await Assertions.Expect(row.Locator(".badge")).ToHaveTextAsync("running");
        var sessions = await api.GetFromJsonAsync<JsonElement>("/api/instances/web-sessions/sessions");
        var id = sessions.GetProperty("items").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "work").GetProperty("id").GetString();
        var screen = await api.GetStringAsync($"/api/instances/web-sessions/sessions/{id}/screen");
        Assert.Contains("42", screen, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheEnvironmentsPageShowsTheProblemOfABadRepositoryAndAFailedEnvironmentsReason()
    {
        var page = await fixture.NewPageAsync();
        await page.SignInAsync(fixture.TenantKey);
        await page.GetByRole(AriaRole.Link, new() { Name = "Environments" }).ClickAsync();
        await Assertions.Expect(page.GetByText("No environments yet")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Create environment" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog);
        await dialog.GetByLabel("Name (the checkout's directory under /workspace)").FillAsync("shop");
        await dialog.GetByLabel("Repository URL").FillAsync("https://user:secret@example.com/shop.git");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Create", Exact = true }).ClickAsync();
        await Assertions.Expect(dialog.GetByRole(AriaRole.Alert)).ToContainTextAsync("field: repo_url");
        await page.ScreenshotAsync(fixture, "environments-create-problem");
        await page.AssertAccessibleAsync(fixture, "/ui/environments with the create dialog");

        // An environment whose repository cannot be cloned ends failed, and its page says why.
        using var api = Api(fixture.TenantKey);
        using var created = await api.PostAsJsonAsync("/api/environments", new { name = "nowhere", repo_url = "git://127.0.0.1:9/nowhere.git", region = "ams", size = "shared-cpu-1x" });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var id = JsonSerializer.Deserialize<JsonElement>(await created.Content.ReadAsStringAsync()).GetProperty("id").GetString();
        await page.GotoAsync($"/ui/environments/{id}");
        await Assertions.Expect(page.Locator("h1 .badge")).ToHaveTextAsync("failed", new() { Timeout = 90_000 });
        await Assertions.Expect(page.GetByRole(AriaRole.Alert).First).ToBeVisibleAsync();
        await page.ScreenshotAsync(fixture, "environment-failed");
        await page.AssertAccessibleAsync(fixture, "/ui/environments/{id}");
    }

    [Fact]
    public async Task ASecondTenantSeesNoneOfTheFirstOnesObjects()
    {
        using var first = Api(fixture.TenantKey);
        using (var created = await first.PostAsJsonAsync("/api/instances", new { name = "private-box", region = "ams", size = "shared-cpu-1x" }))
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        var otherKey = await ApiKeys.CreateTenantKeyAsync(fixture.BaseAddress, "other-co");
        var page = await fixture.NewPageAsync();
        await page.SignInAsync(otherKey);
        await Assertions.Expect(page.GetByText("No instances yet")).ToBeVisibleAsync();
        await page.GotoAsync("/ui/instances/private-box");
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Request id");
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("No such instance");
        await page.ScreenshotAsync(fixture, "other-tenant-not-found");
        await page.GotoAsync("/ui/runs");
        await Assertions.Expect(page.GetByText("No runs yet")).ToBeVisibleAsync();
        await page.GotoAsync("/ui/workflows");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "greet" })).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task TheAdminKeyManagesTenantsAndShowsANewKeyOnce()
    {
        var page = await fixture.NewPageAsync();
        await page.SignInAsync(ApiKeys.Admin);
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/ui/"), s_urlWait);
        await page.GetByRole(AriaRole.Link, new() { Name = "Tenants" }).ClickAsync();
        await page.GetByLabel("Id", new() { Exact = true }).FillAsync("globex");
        await page.GetByLabel("Display name").FillAsync("Globex");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Globex globex" })).ToBeVisibleAsync();

        await page.GetByLabel("max instances").FillAsync("7");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save quotas" }).ClickAsync();
        await page.GetByLabel("Key name").FillAsync("ci");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var secret = await page.GetByTestId("new-key").TextContentAsync();
        Assert.StartsWith("orch_globex_", secret);
        await page.ScreenshotAsync(fixture, "tenants");
        await page.AssertAccessibleAsync(fixture, "/ui/tenants");
        await page.GetByRole(AriaRole.Button, new() { Name = "Done" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("new-key")).ToHaveCountAsync(0);

        using var admin = Api(ApiKeys.Admin);
        var tenant = await admin.GetFromJsonAsync<JsonElement>("/api/tenants/globex");
        Assert.Equal(7, tenant.GetProperty("quotas").GetProperty("max_instances").GetInt32());

        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await Assertions.Expect(page.Locator("td .badge").First).ToHaveTextAsync("revoked");

        // The list shows the new tenant, and its row opens it.
        await page.GotoAsync("/ui/tenants");
        var list = page.GetByRole(AriaRole.Table, new() { Name = "Tenants" });
        var row = list.GetByRole(AriaRole.Row).Filter(new() { HasText = "globex" });
        await Assertions.Expect(row).ToContainTextAsync("Globex");
        await page.AssertAccessibleAsync(fixture, "/ui/tenants (list)");
        await row.GetByRole(AriaRole.Link, new() { Name = "globex" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"/ui/tenants\?id=globex"), s_urlWait);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Globex globex" })).ToBeVisibleAsync();
    }

    [Theory]
    [InlineData("/ui/instances", "phone-instances")]
    [InlineData("/ui/workflows", "phone-workflows")]
    [InlineData("/ui/runs", "phone-runs")]
    [InlineData("/ui/secrets", "phone-secrets")]
    public async Task PagesFitAPhoneScreen(string path, string name)
    {
        var page = await fixture.NewPageAsync(390, 844);
        await page.SignInAsync(fixture.TenantKey);
        await page.GotoAsync(path);
        await page.GetByRole(AriaRole.Heading, new() { Level = 1 }).WaitForAsync();
        await page.AssertNoHorizontalScrollAsync(path);
        await page.ScreenshotAsync(fixture, name);
        await page.AssertAccessibleAsync(fixture, $"{path} at 390x844");
    }

    [Fact]
    public async Task TheSignInPageRefusesABadKeyWithTheProblemAndIsAccessible()
    {
        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/ui/");
        await page.GetByLabel("API key").FillAsync("orch_acme_nope_nope");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Authentication required");
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Request id");
        await page.ScreenshotAsync(fixture, "sign-in");
        await page.AssertAccessibleAsync(fixture, "the sign-in page");
    }

    private HttpClient Api(string key) => new() { BaseAddress = fixture.BaseAddress, DefaultRequestHeaders = { Authorization = ApiKeys.Bearer(key) } };

    private static string Workflow(string name, string execType) => $$$"""
        name: {{{name}}}
        inputs:
          greeting: { type: string, default: hello }
        steps:
          - id: box
            uses: instance.create
            with: { name: "g-${{ run.id }}", region: ams, size: shared-cpu-1x }
          - id: say
            uses: {{{execType}}}
            with: { instance: "${{ steps.box.outputs.id }}", command: "echo ${{ inputs.greeting }} from the box" }
          - id: count
            uses: ssh.exec
            with: { instance: "${{ steps.box.outputs.id }}", command: "seq 1 3" }
          - id: cleanup
            uses: instance.destroy
            with: { instance: "${{ steps.box.outputs.id }}" }
        """;

    /// <summary>Replaces the CodeMirror editor's text as a paste would.</summary>
    private static async Task SetEditorTextAsync(IPage page, string text)
    {
        await page.Locator(".cm-content").ClickAsync();
        await page.Keyboard.PressAsync("Control+A");
        await page.Keyboard.PressAsync("Delete");
        await page.Keyboard.InsertTextAsync(text);
        await Assertions.Expect(page.Locator(".cm-content")).ToContainTextAsync(text.Split('\n')[0]);
    }

    private static async Task<int> ColumnsShownAsync(IPage page)
    {
        var rows = page.Locator(".xterm-rows");
        await Assertions.Expect(rows).ToContainTextAsync(new Regex(@"cols=\d+"));
        var match = ColumnsPattern().Match(await rows.InnerTextAsync());
        return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^\s*42\s*$")]
    private static partial Regex AnswerRow();

    [GeneratedRegex(@"cols=(\d+)")]
    private static partial Regex ColumnsPattern();
}
