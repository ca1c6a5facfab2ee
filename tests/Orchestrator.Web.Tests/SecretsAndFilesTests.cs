using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Playwright;
using Orchestrator.Testing;

namespace Orchestrator.Web.Tests;

/// <summary>
/// The secrets page (values go in and never come back out, not even into the page) and the instance page's Files card
/// (a file up to an emulator machine and back down, byte for byte), in chromium against a real silo.
/// </summary>
[Collection(SharedConsole.Name)]
public sealed class SecretsAndFilesTests(ConsoleFixture fixture)
{
    [Fact]
    public async Task SetsReplacesAndDeletesASecretWhoseValueNeverReachesThePage()
    {
        const string first = "first-value-7d1f0c";
        const string second = "second-value-93ab2e";
        var page = await fixture.NewPageAsync();
        await page.SignInAsync(fixture.TenantKey);
        await page.GetByRole(AriaRole.Link, new() { Name = "Secrets" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Set a secret" })).ToBeVisibleAsync();

        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("DEPLOY_TOKEN");
        await page.GetByLabel("Value", new() { Exact = true }).FillAsync(first);
        await page.GetByRole(AriaRole.Button, new() { Name = "Set secret", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Secret DEPLOY_TOKEN created.");
        var row = page.Locator("tr[data-secret='DEPLOY_TOKEN']");
        await Assertions.Expect(row).ToBeVisibleAsync();
        await AssertNowhereInThePageAsync(page, first);
        await page.ScreenshotAsync(fixture, "secrets");
        await page.AssertAccessibleAsync(fixture, "/ui/secrets");

        await row.GetByRole(AriaRole.Button, new() { Name = "Replace DEPLOY_TOKEN" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Replace DEPLOY_TOKEN" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByLabel("Value", new() { Exact = true })).ToBeFocusedAsync();
        await page.GetByLabel("Value", new() { Exact = true }).FillAsync(second);
        await page.GetByRole(AriaRole.Button, new() { Name = "Replace", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Secret DEPLOY_TOKEN replaced.");
        await AssertNowhereInThePageAsync(page, first);
        await AssertNowhereInThePageAsync(page, second);

        using var api = Api();
        var listed = await api.GetFromJsonAsync<JsonElement>("/api/secrets");
        Assert.Single(listed.GetProperty("items").EnumerateArray(), s => s.GetProperty("name").GetString() == "DEPLOY_TOKEN");

        await row.GetByRole(AriaRole.Button, new() { Name = "Delete", Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Delete", Exact = true }).ClickAsync();
        await Assertions.Expect(row).ToHaveCountAsync(0);
        listed = await api.GetFromJsonAsync<JsonElement>("/api/secrets");
        Assert.DoesNotContain(listed.GetProperty("items").EnumerateArray(), s => s.GetProperty("name").GetString() == "DEPLOY_TOKEN");
    }

    [Fact]
    public async Task ASecretWithABadNameShowsTheProblemNamingTheField()
    {
        var page = await fixture.NewPageAsync();
        await page.SignInAsync(fixture.TenantKey);
        await page.GotoAsync("/ui/secrets");
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("deploy-token");
        await Assertions.Expect(page.GetByLabel("Name", new() { Exact = true })).ToHaveAttributeAsync("aria-invalid", "true");
        await page.GetByLabel("Value", new() { Exact = true }).FillAsync("anything");
        await page.GetByRole(AriaRole.Button, new() { Name = "Set secret", Exact = true }).ClickAsync();
        var problem = page.GetByRole(AriaRole.Alert);
        await Assertions.Expect(problem).ToContainTextAsync("field: name");
        await Assertions.Expect(problem).ToContainTextAsync("uppercase letters");
        await Assertions.Expect(problem).ToContainTextAsync("Request id");
        await page.ScreenshotAsync(fixture, "secrets-bad-name");
        await page.AssertAccessibleAsync(fixture, "/ui/secrets with a problem");
    }

    [Fact]
    public async Task UploadsAFileToAnInstanceAndDownloadsTheSameBytesBack()
    {
        using var api = Api();
        using (var created = await api.PostAsJsonAsync("/api/instances?wait=started", new { name = "web-files", region = "ams", size = "shared-cpu-1x" }))
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        // Every byte value, so a text decoding anywhere on the way would show.
        var bytes = Enumerable.Range(0, 3000).Select(i => (byte)(i * 7 % 256)).ToArray();
        var page = await fixture.NewPageAsync();
        await page.SignInAsync(fixture.TenantKey);
        var fileRequests = new List<Microsoft.Playwright.IRequest>();
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/files?", StringComparison.Ordinal))
            {
                fileRequests.Add(request);
            }
        };
        await page.GotoAsync("/ui/instances/web-files");
        await page.GetByLabel("Local file").SetInputFilesAsync(new FilePayload { Name = "data.bin", MimeType = "application/octet-stream", Buffer = bytes });
        await page.GetByLabel("Path on the machine").FillAsync("/tmp/console-files/");
        await page.GetByLabel("Mode (optional, octal; default 0644)").FillAsync("600");
        await page.GetByRole(AriaRole.Button, new() { Name = "Upload", Exact = true }).ClickAsync();
        var done = page.GetByTestId("upload-done");
        await Assertions.Expect(done).ToContainTextAsync("/tmp/console-files/data.bin");
        await Assertions.Expect(done).ToContainTextAsync(Convert.ToHexStringLower(SHA256.HashData(bytes)));
        await Assertions.Expect(done).ToContainTextAsync("mode 0600");

        await page.GetByLabel("Path to download").FillAsync("/tmp/console-files/data.bin");
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Download", Exact = true }).ClickAsync());
        Assert.Equal("data.bin", download.SuggestedFilename);
        await using (var stream = await download.CreateReadStreamAsync())
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            Assert.Equal(bytes, copy.ToArray());
        }

        // The key travels in the Authorization header of both transfers, never in their URLs.
        Assert.Equal(["PUT", "GET"], fileRequests.Select(r => r.Method));
        Assert.All(fileRequests, r =>
        {
            Assert.DoesNotContain(fixture.TenantKey, r.Url, StringComparison.Ordinal);
            Assert.Equal($"Bearer {fixture.TenantKey}", r.Headers["authorization"]);
        });
        await page.ScreenshotAsync(fixture, "instance-files");
        await page.AssertAccessibleAsync(fixture, "/ui/instances/{id} with the Files card");

        await page.GetByLabel("Path to download").FillAsync("/tmp/console-files/absent.bin");
        await page.GetByRole(AriaRole.Button, new() { Name = "Download", Exact = true }).ClickAsync();
        var problem = page.GetByRole(AriaRole.Alert);
        await Assertions.Expect(problem).ToContainTextAsync("No such file");
        await Assertions.Expect(problem).ToContainTextAsync("/tmp/console-files/absent.bin");
        await Assertions.Expect(problem).ToContainTextAsync("Request id");
        await page.ScreenshotAsync(fixture, "instance-files-not-found");
    }

    /// <summary>Neither the page's markup nor any field's current value holds <paramref name="value"/>.</summary>
    private static async Task AssertNowhereInThePageAsync(IPage page, string value)
    {
        Assert.DoesNotContain(value, await page.ContentAsync(), StringComparison.Ordinal);
        var inFields = await page.EvaluateAsync<bool>(
            "value => [...document.querySelectorAll('input, textarea')].some(field => field.value.includes(value))", value);
        Assert.False(inFields, "a form field still holds the secret's value");
    }

    private HttpClient Api() => new() { BaseAddress = fixture.BaseAddress, DefaultRequestHeaders = { Authorization = ApiKeys.Bearer(fixture.TenantKey) } };
}
