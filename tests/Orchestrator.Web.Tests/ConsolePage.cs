using System.Text.Json;
using Microsoft.Playwright;

namespace Orchestrator.Web.Tests;

/// <summary>What every console test does with a page: sign in, save a screenshot, and check it with axe-core.</summary>
internal static class ConsolePage
{
    public static async Task SignInAsync(this IPage page, string key)
    {
        await page.GotoAsync("/ui/");
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).WaitForAsync();
    }

    /// <summary>Saves the page as <c>{name}.png</c> in the fixture's screenshot directory.</summary>
    public static Task ScreenshotAsync(this IPage page, ConsoleFixture fixture, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(fixture.ScreenshotDirectory, $"{name}.png"), FullPage = true });

    /// <summary>
    /// Runs axe-core in the page (evaluated through the browser's protocol, which the page's CSP does not govern) and
    /// fails on any serious or critical violation, naming each rule and element.
    /// </summary>
    public static async Task AssertAccessibleAsync(this IPage page, ConsoleFixture fixture, string what)
    {
        await page.EvaluateAsync(fixture.AxeSource);
        var result = await page.EvaluateAsync<JsonElement>(
            "async () => { const r = await axe.run(document, { resultTypes: ['violations'] }); " +
            "return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3) })); }");
        var blocking = result.EnumerateArray()
            .Where(v => v.GetProperty("impact").GetString() is "serious" or "critical")
            .Select(v => $"{v.GetProperty("id").GetString()} ({v.GetProperty("impact").GetString()}): {v.GetProperty("help").GetString()} at {string.Join(", ", v.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()))}")
            .ToList();
        Assert.True(blocking.Count == 0, $"axe-core on {what}:\n{string.Join("\n", blocking)}");
    }

    /// <summary>The page fits its window: nothing wider than the viewport (checked at phone size).</summary>
    public static async Task AssertNoHorizontalScrollAsync(this IPage page, string what)
    {
        var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 1, $"{what} is {overflow}px wider than the window.");
    }
}
