using Microsoft.Extensions.Options;

namespace Orchestrator.Fly.Emulator;

/// <summary>
/// The emulator as a process: <c>dotnet run --project src/Orchestrator.Fly.Emulator -- --urls http://127.0.0.1:4280</c>.
/// Settings come from the <c>FlyEmulator</c> section (e.g. <c>--FlyEmulator:RequiredToken=x</c>,
/// <c>FlyEmulator__TransitionDelay=00:00:01</c>). Ctrl+C stops every machine before exiting.
/// </summary>
public static class EmulatorProgram
{
    public const int ConfigurationExitCode = 2;

    public static async Task<int> Main(string[] args)
    {
        var app = Build(args);
        try
        {
            await app.StartAsync();
        }
        catch (OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync("configuration error: " + string.Join("; ", ex.Failures));
            await app.DisposeAsync();
            return ConfigurationExitCode;
        }

        await app.WaitForShutdownAsync();
        await app.DisposeAsync();
        return 0;
    }

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        // Fly's API listens on 4280 inside the private network (_api.internal:4280); same default here.
        if (builder.Configuration["urls"] is null)
        {
            builder.WebHost.UseUrls(builder.Configuration[$"{FlyEmulatorOptions.SectionName}:Url"] ?? "http://127.0.0.1:4280");
        }

        builder.Services.AddOptions<FlyEmulatorOptions>().BindConfiguration(FlyEmulatorOptions.SectionName).ValidateOnStart();
        builder.Services.AddFlyEmulatorServices();
        var app = builder.Build();
        app.MapFlyEmulator();
        return app;
    }
}
