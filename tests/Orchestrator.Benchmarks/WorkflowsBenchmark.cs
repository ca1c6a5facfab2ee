using System.Globalization;
using Npgsql;
using Orchestrator.Testing;

namespace Orchestrator.Benchmarks;

/// <summary>
/// The workflows mode: Orchestrator runs of a chain of no-op steps beside Hangfire.PostgreSql continuations, one
/// after the other, each in its own database of one throwaway PostgreSQL server started here. Without
/// <c>hangfire</c> settings only Orchestrator is measured (quicker A/B runs); the goals then count as not met.
/// Each value of <c>outputKibs</c> measures the Orchestrator chain once, in a database of its own: 0 as sleep steps,
/// more as ssh.exec steps printing that many KiB; the first value is the one compared with Hangfire and held to the
/// goals, and every value's checkpoint sizes and throughput are printed side by side.
/// </summary>
internal sealed class WorkflowsBenchmark(int runs, int steps, int parallelism, HangfireSettings? hangfire, IReadOnlyList<int> outputKibs)
{
    /// <summary>Runs (and chains) first run and dropped from the numbers: JIT, pools, grain type maps.</summary>
    public int WarmUp => Math.Min(50, Math.Max(5, runs / 20));

    public async Task<bool> RunAsync(Action<string> say)
    {
        // A server of its own that commits durably: a step's checkpoint costs what it costs in production.
        await using var server = await PostgresServer.StartDurableAsync();
        var hangfireDb = await server.CreateDatabaseAsync("bench_hangfire");
        say($"PostgreSQL {await ServerVersionAsync(server.AdminConnectionString)} at {new NpgsqlConnectionStringBuilder(server.AdminConnectionString).Port} (throwaway, {await CommitSettingsAsync(server.AdminConnectionString)})");

        var sides = new List<(int OutputKib, SideReport Report)>();
        foreach (var outputKib in outputKibs)
        {
            var database = await server.CreateDatabaseAsync(string.Create(CultureInfo.InvariantCulture, $"bench_orchestrator_{outputKib}k"));
            say($"orchestrator: {(outputKib > 0 ? $"ssh.exec steps printing {outputKib} KiB" : "sleep steps, no output")}, database {Name(database)}");
            var report = await new WorkflowRunsMeasurement(database, runs, steps, parallelism, WarmUp, outputKib).RunAsync(say);
            sides.Add((outputKib, report with { Database = await DatabaseCounters.ReadSettledAsync(database) }));
            await server.DropDatabaseAsync(database);
        }

        var peer = hangfire is null
            ? new SideReport(0, 0, TimeSpan.Zero, new(double.NaN, double.NaN), new(double.NaN, double.NaN), [], ["not measured (--orchestrator-only)"])
            : await new HangfireChainsMeasurement(hangfireDb, runs, steps, parallelism, WarmUp, hangfire).RunAsync(say);
        peer = hangfire is null ? peer : peer with { Database = await DatabaseCounters.ReadSettledAsync(hangfireDb) };
        await server.DropDatabaseAsync(hangfireDb);

        var ok = Print(sides[0].Report, peer, sides[0].OutputKib, say);
        PrintByOutput(sides, say);
        return ok && sides.All(s => s.Report.Failures.Count == 0 && s.Report.Completed == runs);
    }

    /// <summary>
    /// What a step's output costs the checkpoint: one column per output size. A run's checkpoint carries the outputs
    /// of every step that ended, so its last one (written at the run's end) is the largest it wrote.
    /// </summary>
    private void PrintByOutput(List<(int OutputKib, SideReport Report)> sides, Action<string> say)
    {
        foreach (var (outputKib, report) in sides.Skip(1))
        {
            foreach (var line in report.Notes.Concat(report.Failures.Take(5).Select(f => "FAILURE " + f)))
            {
                say($"orchestrator ({outputKib} KiB): {line}");
            }
        }

        say("");
        say("by step output (each column its own measurement, same server):");
        say($"{"",-40}{string.Concat(sides.Select(s => (s.OutputKib > 0 ? $"{s.OutputKib} KiB" : "no output").PadLeft(16)))}");
        Row("steps/s", s => s.StepsPerSecond, "0");
        Row("step-to-step p50 (ms)", s => s.StepToStep.P50, "0.00");
        Row("grain-state writes per transition", s => (double)(s.StateWrites - runs) / (runs * steps), "0.00");
        Row("last checkpoint of a run (bytes)", s => s.LastCheckpointBytes, "0");
        Row("  per step (bytes)", s => s.LastCheckpointBytes / steps, "0");
        Row("runs completed", s => s.Completed, "0");

        void Row(string label, Func<SideReport, double> value, string format) =>
            say($"{label,-40}{string.Concat(sides.Select(s => value(s.Report).ToString(format, CultureInfo.InvariantCulture).PadLeft(16)))}");
    }

    private bool Print(SideReport orchestrator, SideReport peer, int outputKib, Action<string> say)
    {
        var totalRuns = runs + WarmUp;
        foreach (var (name, side) in new[] { ("orchestrator", orchestrator), ("hangfire", peer) })
        {
            foreach (var note in side.Notes)
            {
                say($"{name}: {note}");
            }

            if (side.Database is { } db)
            {
                var tables = string.Join(", ", db.RowWrites.Where(t => t.Value > 0).OrderByDescending(t => t.Value)
                    .Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Key} {(double)t.Value / (totalRuns * steps):0.00}")));
                say($"{name}: database over its lifetime ({totalRuns} runs incl. warm-up): {(double)db.Commits / (totalRuns * steps):0.00} commits per step; rows written per step by table: {tables}");
            }

            foreach (var failure in side.Failures.Take(5))
            {
                say($"{name}: FAILURE {failure}");
            }
        }

        // Per run: 1 per step start (carrying the previous step's completion; the first one also carries the run's
        // acceptance), 1 at the end (carrying the last step's completion). The step transitions are the step starts.
        var writesPerStep = (double)orchestrator.StateWrites / (runs * steps);
        var stepTransitionWrites = (double)(orchestrator.StateWrites - runs) / (runs * steps);
        var ratio = orchestrator.StepsPerSecond / peer.StepsPerSecond;

        say("");
        say($"{"",-36}{"Orchestrator",16}{"Hangfire",16}");
        Row("runs completed", orchestrator.Completed, peer.Completed, "0");
        Row("wall, first start to last end (s)", orchestrator.Wall.TotalSeconds, peer.Wall.TotalSeconds, "0.00");
        Row("steps/s", orchestrator.StepsPerSecond, peer.StepsPerSecond, "0");
        Row("step-to-step p50 (ms)", orchestrator.StepToStep.P50, peer.StepToStep.P50, "0.00");
        Row("step-to-step p99 (ms)", orchestrator.StepToStep.P99, peer.StepToStep.P99, "0.00");
        Row("step start -> end p50 (ms) [1]", orchestrator.StepDuration.P50, peer.StepDuration.P50, "0.00");
        Row("step start -> end p99 (ms) [1]", orchestrator.StepDuration.P99, peer.StepDuration.P99, "0.00");
        Row("run duration p50 (ms)", orchestrator.Run.P50, peer.Run.P50, "0.0");
        Row("run duration p99 (ms)", orchestrator.Run.P99, peer.Run.P99, "0.0");
        Row("cores busy: this process", orchestrator.Cores.Process, peer.Cores.Process, "0.00");
        Row("cores busy: PostgreSQL", orchestrator.Cores.Postgres, peer.Cores.Postgres, "0.00");
        Row("db commits per step", Commits(orchestrator), Commits(peer), "0.00");
        say($"{"grain-state writes per step",-36}{writesPerStep,16:0.00}{"-",16}   ({orchestrator.StateWrites} writes / {runs * steps} steps)");
        say($"{"  of which per step transition",-36}{stepTransitionWrites,16:0.00}{"-",16}   (minus 1 per run: run ended)");
        say($"{"last checkpoint of a run (bytes)",-36}{orchestrator.LastCheckpointBytes,16:0}{"-",16}   ({orchestrator.LastCheckpointBytes / steps:0} per step; {(outputKib > 0 ? $"each step printed {outputKib} KiB" : "no output")})");
        say("[1] Orchestrator stamps a step's StartedAt before the checkpoint that starts it, so a 0 s step's start -> end is that");
        say("    write; step-to-step is previous end -> next StartedAt. Hangfire's no-op job is timed inside the job.");
        say($"Orchestrator / Hangfire throughput: {ratio:0.00}x");
        say("");
        say("goals:");
        var met = new[]
        {
            Goal(">= 2x Hangfire's throughput", $"{ratio:0.00}x", ratio >= 2),
            Goal(">= 2,000 steps/s", $"{orchestrator.StepsPerSecond:0} steps/s", orchestrator.StepsPerSecond >= 2000),
            Goal("p50 step-to-step < 2 ms", $"{orchestrator.StepToStep.P50:0.00} ms", orchestrator.StepToStep.P50 < 2),
            Goal("<= 1 grain-state write per step transition", $"{stepTransitionWrites:0.00} (all writes per step {writesPerStep:0.00})", stepTransitionWrites <= 1.0),
        };
        var complete = orchestrator.Failures.Count == 0 && peer.Failures.Count == 0 && orchestrator.Completed == runs && peer.Completed == runs;
        return complete && met.All(m => m);

        double Commits(SideReport side) => side.Database is { } db ? (double)db.Commits / (totalRuns * steps) : double.NaN;

        void Row(string label, double left, double right, string format) =>
            say(string.Create(CultureInfo.InvariantCulture, $"{label,-36}{left.ToString(format, CultureInfo.InvariantCulture),16}{right.ToString(format, CultureInfo.InvariantCulture),16}"));

        bool Goal(string goal, string actual, bool ok)
        {
            say($"  {goal,-46} {actual,-40} {(ok ? "MET" : "NOT MET")}");
            return ok;
        }
    }

    private static string Name(string connectionString) => new NpgsqlConnectionStringBuilder(connectionString).Database ?? "?";

    /// <summary>The settings that decide what a commit costs, as the server reports them.</summary>
    private static async Task<string> CommitSettingsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "select string_agg(name || '=' || setting, ', ' order by name) from pg_settings where name in ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method')",
            connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<string> ServerVersionAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return connection.PostgreSqlVersion.ToString();
    }
}
