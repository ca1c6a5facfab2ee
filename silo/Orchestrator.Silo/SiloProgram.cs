using Orchestrator.Hosting;
using Orchestrator.Silo.Hosting;

namespace Orchestrator.Silo;

public static class SiloProgram
{
    public const string ProcessName = "orchestrator-silo";

    public static Task<int> Main(string[] args) =>
        StartupFailure.RunAsync(ProcessName, async () =>
        {
            await using var app = SiloApplication.Build(args);
            await SiloApplication.StartAsync(app);
            await app.WaitForShutdownAsync();
        });
}
