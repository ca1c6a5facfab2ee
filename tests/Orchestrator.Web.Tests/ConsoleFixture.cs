using Microsoft.Playwright;
using Orchestrator.Silo.Hosting;
using Orchestrator.Testing;

namespace Orchestrator.Web.Tests;

/// <summary>
/// One silo on PostgreSQL (its embedded Fly emulator runs the machines), its console at <c>/ui/</c> on a loopback
/// port, and one headless chromium for every test of the collection.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public const string Tenant = "acme";

    private readonly PostgresDatabaseFixture _database = new();
    private WebApplication? _silo;
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public string TenantKey { get; private set; } = "";

    /// <summary>Where each page's screenshot goes: kept with the test output as an artifact.</summary>
    public string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public string AxeSource { get; } = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "axe.min.js"));

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _silo = SiloApplication.Build(
            TestSiloArguments.Postgres(_database.ConnectionString, "console"),
            builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
        await SiloApplication.StartAsync(_silo);
        BaseAddress = new Uri(_silo.Urls.First());
        TenantKey = await ApiKeys.CreateTenantKeyAsync(BaseAddress, Tenant);

        Directory.CreateDirectory(ScreenshotDirectory);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            // Debian's chromium (apt-get install chromium): Playwright downloads no browser here.
            ExecutablePath = Environment.GetEnvironmentVariable("ORCH_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
        });
    }

    /// <summary>A new browser context (its own sessionStorage) at the given window size.</summary>
    public async Task<IPage> NewPageAsync(int width = 1280, int height = 800)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            ColorScheme = ColorScheme.Light,
        });
        context.SetDefaultTimeout(30_000);
        return await context.NewPageAsync();
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_silo is not null)
        {
            await _silo.StopAsync();
            await _silo.DisposeAsync();
        }

        await _database.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class SharedConsole : ICollectionFixture<ConsoleFixture>
{
    public const string Name = "console";
}
