namespace Orchestrator.Fly.Emulator;

public static class EmulatorProgram
{
    public static Task<int> Main(string[] args) => Task.FromResult(args.Length >= 0 ? 0 : 1);
}
