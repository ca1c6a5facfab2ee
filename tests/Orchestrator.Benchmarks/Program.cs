using System.Globalization;
using Orchestrator.Benchmarks;

// Usage: dotnet run -c Release --project tests/Orchestrator.Benchmarks -- fleet [--machines 100] [--runs 3] [--scale 1]
//        dotnet run -c Release --project tests/Orchestrator.Benchmarks -- exec [--runs 200]
if (args.Length > 0 && args[0] == "exec" && OperatingSystem.IsLinux())
{
    var execRuns = Option("--runs", 200);
    Console.WriteLine($"exec round trip of `true` on one emulator machine (sandboxed sshd on loopback), {execRuns} runs each after 5 warm-ups");
    var measured = await new ExecBenchmark(execRuns).RunAsync();
    var floor = measured.Single(m => m.Name.StartsWith("(c)", StringComparison.Ordinal)).Result.P50;
    foreach (var (name, result) in measured)
    {
        Console.WriteLine($"{name,-52} p50 {result.P50,8:0.00} ms  p99 {result.P99,8:0.00} ms  p50/floor {result.P50 / floor,7:0.00}x");
    }

    return 0;
}

var machines = Option("--machines", 100);
var runs = Option("--runs", 3);
var scale = Option("--scale", 1.0);

var benchmark = new MachineFleetBenchmark(machines, scale);
Console.WriteLine($"fleet: {machines} machines created and started concurrently, emulator enforcing Fly's limits x{scale}, {runs} run(s)");
Console.WriteLine($"floor allowed by the limits: {benchmark.Floor.TotalSeconds:0.00} s");
var results = new List<FleetRun>();
for (var run = 1; run <= runs; run++)
{
    var result = await benchmark.RunAsync(run);
    results.Add(result);
    Console.WriteLine($"run {run}: {result.Elapsed.TotalSeconds:0.00} s, {result.Calls} API calls ({result.WireRequests} on the wire, {result.WireRateLimited} answered 429), 429s reaching the caller: {result.CallerRateLimited}, started: {result.Started}/{machines}");
}

var median = results.Select(r => r.Elapsed).Order().ElementAt(results.Count / 2);
Console.WriteLine($"median {median.TotalSeconds:0.00} s; ratio to floor {median / benchmark.Floor:0.000}x (goal <= 1.25x); median API calls {results.Select(r => r.Calls).Order().ElementAt(results.Count / 2)}; 429s reaching the caller {results.Sum(r => r.CallerRateLimited)}");
return results.All(r => r.Started == machines && r.CallerRateLimited == 0) ? 0 : 1;

T Option<T>(string name, T fallback)
    where T : IParsable<T>
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? T.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}
