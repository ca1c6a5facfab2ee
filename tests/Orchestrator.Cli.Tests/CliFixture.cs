using System.Diagnostics;
using Orchestrator.Silo.Hosting;
using Orchestrator.Testing;

namespace Orchestrator.Cli.Tests;

/// <summary>
/// One real silo (PostgreSQL, the embedded Fly emulator running machines as local sandboxes with sshd) shared by every
/// CLI test, a tenant key, one started instance, and a way to run the real <c>orch</c> process against them.
/// </summary>
public sealed class CliFixture : IAsyncLifetime
{
    public const string Tenant = "cli";
    public const string Box = "cli-box";

    private readonly PostgresDatabaseFixture _database = new();
    private WebApplication? _silo;

    public Uri BaseAddress { get; private set; } = null!;

    public string TenantKey { get; private set; } = "";

    public string Document { get; private set; } = "";

    /// <summary>orch.dll next to the tests (the project reference copies it).</summary>
    public static string OrchDll { get; } = Path.Combine(AppContext.BaseDirectory, "orch.dll");

    public string ConfigHome { get; } = Directory.CreateTempSubdirectory("orch-cli-tests").FullName;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _silo = SiloApplication.Build(
            TestSiloArguments.Postgres(_database.ConnectionString, "cli"),
            builder => builder.Logging.ClearProviders());
        await SiloApplication.StartAsync(_silo);
        BaseAddress = new Uri(_silo.Urls.First());
        using (var anonymous = new HttpClient { BaseAddress = BaseAddress })
        {
            Document = await anonymous.GetStringAsync("/openapi/v1.json");
        }

        TenantKey = await ApiKeys.CreateTenantKeyAsync(BaseAddress, Tenant);
        var created = await RunAsync(["instances", "create", Box, "--region", "ams", "--size", "shared-cpu-1x"]);
        if (created.ExitCode != 0)
        {
            throw new InvalidOperationException($"orch instances create exited {created.ExitCode}: {created.Stderr}");
        }
    }

    /// <summary>
    /// Runs orch with the tenant key (or <paramref name="key"/>), stdin from <paramref name="stdin"/> or piped from
    /// <paramref name="input"/> (closed when both are null).
    /// </summary>
    public async Task<OrchResult> RunAsync(IEnumerable<string> args, byte[]? stdin = null, string? key = null, Stream? stdout = null, IDictionary<string, string>? environment = null, Stream? input = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(OrchDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["ORCH_URL"] = BaseAddress.ToString();
        start.Environment["ORCH_KEY"] = key ?? TenantKey;
        start.Environment["XDG_CONFIG_HOME"] = ConfigHome;
        start.Environment.Remove("NO_COLOR");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = stdout ?? new MemoryStream();
        var copyOut = process.StandardOutput.BaseStream.CopyToAsync(output);
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.BaseStream.WriteAsync(stdin);
            }

            if (input is not null)
            {
                await input.CopyToAsync(process.StandardInput.BaseStream);
            }
        }
        catch (IOException)
        {
            // orch exited without reading all of its stdin (the command did not want it): its exit says how it went.
        }

        process.StandardInput.Close();
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"orch {string.Join(' ', args)} did not exit within 3 minutes");
        }

        await copyOut;
        return new OrchResult(process.ExitCode, output is MemoryStream memory ? memory.ToArray() : [], await error);
    }

    public async Task DisposeAsync()
    {
        if (_silo is not null)
        {
            await _silo.StopAsync();
            await _silo.DisposeAsync();
        }

        await _database.DisposeAsync();
        Directory.Delete(ConfigHome, recursive: true);
    }
}

public sealed record OrchResult(int ExitCode, byte[] Stdout, string Stderr)
{
    public string Text => System.Text.Encoding.UTF8.GetString(Stdout);

    public System.Text.Json.JsonElement Json => System.Text.Json.JsonDocument.Parse(Stdout).RootElement;

    public override string ToString() => $"exit {ExitCode}\nstdout: {(Stdout.Length > 2000 ? Text[..2000] : Text)}\nstderr: {Stderr}";
}

[CollectionDefinition(Name)]
public sealed class CliCluster : ICollectionFixture<CliFixture>
{
    public const string Name = "cli";
}
