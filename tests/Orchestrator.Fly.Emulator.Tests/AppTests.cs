using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Tests.Support;
using Orchestrator.Testing;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>Apps: both request spellings, a global namespace, listing by org, deletion.</summary>
public sealed class AppTests
{
    [Fact]
    public async Task BothNameFieldsCreateAnAppAndNamesAreGlobal()
    {
        await using var emulator = await TestEmulator.StartAsync();

        var docs = await emulator.Fly.PostAsync("/v1/apps", new JsonObject { ["app_name"] = "docs-style", ["org_slug"] = "personal" });
        var flyGo = await emulator.Fly.PostAsync("/v1/apps?wait=true", new JsonObject { ["name"] = "fly-go-style", ["org_slug"] = "personal" });
        var taken = await emulator.Fly.PostAsync("/v1/apps", new JsonObject { ["name"] = "docs-style", ["org_slug"] = "another-org" });

        Assert.Matches("^[a-z0-9]{16}$", docs.Expect(HttpStatusCode.Created).Object.Str("id"));
        flyGo.Expect(HttpStatusCode.Created);
        Assert.Equal(Fixtures.Object("error-422-app-name-taken.json").ToJsonString(), taken.Expect(HttpStatusCode.UnprocessableEntity).Object.ToJsonString());
        var app = (await emulator.Fly.GetAsync("/v1/apps/fly-go-style")).Expect(HttpStatusCode.OK).Object;
        Assert.Equal("pending", app.Str("status"));
        Assert.Equal("personal", app["organization"].Str("slug"));
    }

    [Fact]
    public async Task ListIsPerOrganisationAndNeedsTheOrg()
    {
        await using var emulator = await TestEmulator.StartAsync();
        await emulator.Fly.CreateAppAsync("one-app", "org-a");
        await emulator.Fly.CreateAppAsync("two-app", "org-a");
        await emulator.Fly.CreateAppAsync("three-app", "org-b");
        await emulator.Fly.CreateMachineAsync("one-app", FlyHttp.MachineBody(skipLaunch: true));

        var list = (await emulator.Fly.GetAsync("/v1/apps?org_slug=org-a")).Expect(HttpStatusCode.OK).Object;

        Assert.Equal(2, list["total_apps"]!.GetValue<int>());
        Assert.Equal(["one-app", "two-app"], list["apps"]!.AsArray().Select(a => a.Str("name")));
        Assert.Equal(1, list["apps"]![0]!["machine_count"]!.GetValue<int>());
        Assert.StartsWith("invalid_argument:", (await emulator.Fly.GetAsync("/v1/apps")).Expect(HttpStatusCode.BadRequest).Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeletingAnAppDestroysItsMachinesAndFreesTheName()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.StartedMachineAsync(app)).Str("id");

        var refused = await emulator.Fly.DeleteAsync($"/v1/apps/{app}");
        var deleted = await emulator.Fly.DeleteAsync($"/v1/apps/{app}?force=true");

        refused.Expect(HttpStatusCode.PreconditionFailed);
        Assert.Equal(HttpStatusCode.Accepted, deleted.Status);
        Assert.Null(deleted.Body);
        Assert.Equal("app not found", (await emulator.Fly.GetAsync($"/v1/apps/{app}")).Expect(HttpStatusCode.NotFound).Error);
        await Wait.UntilAsync(() => Task.FromResult(emulator.Runtime.OperationsFor(id).Contains("destroy")), "the machine's sandbox to be destroyed", TimeSpan.FromSeconds(5));
        await emulator.Fly.CreateAppAsync(app);
    }

    [Theory]
    [InlineData("""{"app_name":"Bad_Name","org_slug":"personal"}""", 422)]
    [InlineData("""{"org_slug":"personal"}""", 400)]
    [InlineData("""{"app_name":"fine-name"}""", 400)]
    [InlineData("""{"app_name":7,"org_slug":"personal"}""", 400)]
    public async Task InvalidCreatesAreRefusedInFlysShape(string body, int status)
    {
        await using var emulator = await TestEmulator.StartAsync();

        var response = await emulator.Fly.PostAsync("/v1/apps", body);

        Assert.Equal(status, (int)response.Status);
        Assert.Equal(["error"], response.Object.Select(p => p.Key));
    }
}
