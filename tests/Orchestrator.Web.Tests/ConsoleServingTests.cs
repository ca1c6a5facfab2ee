using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Orchestrator.Web.Tests;

/// <summary>How the gateway serves the console's files: caching, compression, the CSP, routes and missing files.</summary>
[Collection(SharedConsole.Name)]
public sealed partial class ConsoleServingTests(ConsoleFixture fixture)
{
    private HttpClient NewClient(bool decompress = false) => new(new HttpClientHandler
    {
        AllowAutoRedirect = false,
        AutomaticDecompression = decompress ? DecompressionMethods.All : DecompressionMethods.None,
    })
    { BaseAddress = fixture.BaseAddress };

    [Theory]
    [InlineData("/")]
    [InlineData("/ui")]
    public async Task TheRootAndTheBarePathRedirectToTheConsole(string path)
    {
        using var http = NewClient();
        using var response = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/ui/", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task ThePageIsRevalidatedUnderAStrictPolicyAndItsHashedAssetsAreCachedForAYear()
    {
        using var http = NewClient(decompress: true);
        using var page = await http.GetAsync("/ui/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", page.Headers.CacheControl?.ToString());
        var policy = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self';", policy, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self';", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", policy, StringComparison.Ordinal);
        var html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotMatch(InlineScript(), html);

        var script = ScriptSource().Match(html).Groups[1].Value;
        Assert.Matches(@"^/ui/assets/index-[\w-]+\.js$", script);
        using var asset = await http.GetAsync(script);
        Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
        Assert.Equal("public, max-age=31536000, immutable", asset.Headers.CacheControl?.ToString());
        Assert.Equal("text/javascript", asset.Content.Headers.ContentType?.MediaType);

        // A console route is the page itself, which routes in the browser.
        using var route = await http.GetAsync("/ui/runs/run-123?step=build");
        Assert.Equal(html, await route.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("br", "br")]
    [InlineData("gzip, deflate", "gzip")]
    [InlineData("br;q=0, gzip", "gzip")]
    [InlineData("identity", null)]
    public async Task FilesAreCompressedAsTheBrowserAccepts(string accept, string? expected)
    {
        using var http = NewClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ui/");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", accept);
        using var response = await http.SendAsync(request);
        Assert.Equal(expected, response.Content.Headers.ContentEncoding.SingleOrDefault());
        Assert.Contains("Accept-Encoding", response.Headers.Vary);
    }

    [Fact]
    public async Task AnUnchangedFileIsAnsweredNotModified()
    {
        using var http = NewClient();
        using var first = await http.GetAsync("/ui/");
        var tag = first.Headers.ETag!;
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ui/");
        request.Headers.IfNoneMatch.Add(tag);
        using var again = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
    }

    [Fact]
    public async Task AMissingFileIsANotFoundProblem()
    {
        using var http = NewClient();
        using var response = await http.GetAsync("/ui/assets/nope-123.js");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var problem = JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());
        Assert.Equal("https://orchestrator.dev/problems/not-found", problem.GetProperty("type").GetString());
        Assert.True(problem.TryGetProperty("request_id", out _));
    }

    [Fact]
    public async Task OutsideTheDevProfileTheConsoleIsNotSignedInByItself()
    {
        using var http = NewClient();
        using var response = await http.GetAsync("/ui/dev-sign-in");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("dev-key", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"<script(?![^>]*\bsrc=)[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();

    [GeneratedRegex("<script[^>]+src=\"([^\"]+)\"")]
    private static partial Regex ScriptSource();
}
