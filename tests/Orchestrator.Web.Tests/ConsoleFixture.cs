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
            [
                "--urls=http://127.0.0.1:0",
                $"--ConnectionStrings:Orchestrator={_database.ConnectionString}",
                "--Orchestrator:ClusterId=console",
                $"--Orchestrator:SiloPort={LoopbackPort.Free()}",
                $"--Orchestrator:GatewayPort={LoopbackPort.Free()}",
                "--Orchestrator:AdvertisedIPAddress=127.0.0.1",
                "--Orchestrator:Secrets:EncryptionKey=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                $"--Orchestrator:Auth:AdminKey={ApiKeys.Admin}",
                "--Orchestrator:Http:RateLimit:PermitsPerSecond=5000",
                "--FlyEmulator:RateLimitScale=20",
                "--FlyEmulator:TransitionDelay=00:00:00.050",
                "--Fly:RateLimitScale=20",
                "--Orchestrator:Instances:SettlePollInterval=00:00:00.100",
            ],
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
