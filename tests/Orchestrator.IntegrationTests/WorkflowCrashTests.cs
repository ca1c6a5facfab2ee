using System.Net;
using System.Text;
using System.Text.Json;
using Orchestrator.Fly;
using Orchestrator.Fly.Emulator;
using Orchestrator.Grains.Runs;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// The crash the run grain is built for: a silo running 50 workflows is killed (SIGKILL, as a real process) in the
/// middle of a step, and every run finishes on the silo that is left.
/// </summary>
public sealed class WorkflowCrashTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    private const string AppName = "crash-test";
    private const int Runs = 50;
    private FlyEmulator _emulator = null!;

    public async Task InitializeAsync() =>
        _emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(50), RateLimitScale = 50, DestroyedRetention = TimeSpan.FromMinutes(10) });

    public async Task DisposeAsync() => await _emulator.DisposeAsync();

    [Fact]
    public async Task RunsOnAKilledSiloAllFinishOnTheSurvivorWithoutRepeatingCompletedStepsOrMachines()
    {
        var connectionString = await database.CreateDatabaseAsync();
        using var doomed = SiloProcess.Start(connectionString, "crash", SiloArguments());
        await RunTheCrashAsync(connectionString, doomed);
    }

    private async Task RunTheCrashAsync(string connectionString, SiloProcess doomed)
    {
        using var http = new HttpClient { BaseAddress = doomed.BaseAddress };
        await doomed.WaitReadyAsync(TimeSpan.FromSeconds(60));
        http.DefaultRequestHeaders.Authorization = ApiKeys.Bearer(await ApiKeys.CreateTenantKeyAsync(http.BaseAddress!, SiloNode.Tenant));

        using (var registered = await http.PostAsync("/api/workflows", new StringContent(Workflow, Encoding.UTF8, "application/yaml")))
        {
            Assert.True(registered.IsSuccessStatusCode, await registered.Content.ReadAsStringAsync());
        }

        // Started while the doomed silo is alone: every run, instance and session grain lives there.
        var runIds = await Task.WhenAll(Enumerable.Range(0, Runs).Select(async i =>
        {
            using var started = await http.PostAsJsonAsync("/api/runs", new { workflow = "crashy", idempotency_key = $"crash-{i}" });
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            return JsonSerializer.Deserialize<JsonElement>(await started.Content.ReadAsStringAsync()).GetProperty("id").GetString()!;
        }));

        // Every run's first "work" holds until the kill, so the disruptions land at known points: the second silo
        // joins while every run is inside "work", and the kill cuts every first "work" off.
        var holdBy = DateTime.UtcNow.AddSeconds(300);
        while (true)
        {
            var statuses = await Task.WhenAll(runIds.Select(id => StepStatusAsync(http, id, "work")));
            if (statuses.All(s => s == StepStatuses.Running))
            {
                break;
            }

            if (DateTime.UtcNow > holdBy)
            {
                var seen = string.Join(", ", statuses.GroupBy(s => s ?? "unknown").Select(g => $"{g.Key}: {g.Count()}"));
                var behind = runIds.Where((_, i) => statuses[i] != StepStatuses.Running).Take(3).ToList();
                var views = await Task.WhenAll(behind.Select(async id => { using var r = await http.GetAsync($"/api/runs/{id}"); return $"{(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}"; }));
                Assert.Fail($"not every run reached its long step on the first silo (work steps: {seen}): {string.Join(" || ", views)}; silo warnings: {string.Join(" || ", Complaints(doomed.RecentOutput))}");
            }

            await Task.Delay(200);
        }

        await using var survivor = await SiloNode.StartAsync(connectionString, "crash", configureServices: null, SiloArguments().ToArray());
        doomed.Kill();

        // The survivor resumes each run from its checkpoint: "work" runs again (same attempt, same key), and a run of
        // it that finds itself already in the log goes on (the first one holds until the kill ends it).
        var endBy = DateTime.UtcNow.AddSeconds(240);
        while (true)
        {
            var statuses = await Task.WhenAll(runIds.Select(id => RunStatusAsync(survivor.Http, id)));
            if (statuses.All(s => s is not null && RunStatuses.IsTerminal(s)))
            {
                break;
            }

            if (DateTime.UtcNow > endBy)
            {
                var stuck = runIds.Where((_, i) => statuses[i] is null || !RunStatuses.IsTerminal(statuses[i]!)).Take(3).ToList();
                var views = await Task.WhenAll(stuck.Select(async id => { using var r = await survivor.Http.GetAsync($"/api/runs/{id}"); return $"{(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}"; }));
                var log = survivor.Log.Lines.Where(l => l.StartsWith("Warning", StringComparison.Ordinal) || l.StartsWith("Error", StringComparison.Ordinal)).TakeLast(15);
                Assert.Fail($"{stuck.Count}+ runs did not end on the surviving silo: {string.Join(" || ", views)}; survivor warnings: {string.Join(" || ", log)}; the killed silo's last warnings: {string.Join(" || ", Complaints(doomed.RecentOutput))}");
            }

            await Task.Delay(500);
        }

        var fly = survivor.App.Services.GetRequiredService<IMachineProvider>();
        var machines = await fly.ListMachinesAsync(AppName, new MachineListFilter { IncludeDeleted = true });
        foreach (var id in runIds)
        {
            var run = JsonSerializer.Deserialize<JsonElement>(await survivor.Http.GetStringAsync($"/api/runs/{id}"));
            Assert.True(run.GetProperty("status").GetString() == RunStatuses.Succeeded, $"run {id}: {run}");
            var steps = run.GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("id").GetString()!);
            var log = steps["report"].GetProperty("outputs").GetProperty("log").GetString()!.Split('\n');

            // A step that completed before a disruption never ran again: "before" ended before the join, "after" began
            // once the survivor was alone. "work" was in flight at both: it ran on the first silo, again on the survivor
            // after the kill, and at most once more where the join briefly gave its run a second activation (Orleans
            // hands directory partitions over; that activation's checkpoint is then refused). Always with the same key.
            var counts = new[] { "before", "work", "after" }.Select(step => log.Count(l => l == $"{id}.{step}.1")).ToList();
            Assert.True(counts[0] == 1 && counts[1] is 2 or 3 && counts[2] == 1, $"run {id}: before/work/after ran {string.Join("/", counts)} times: {string.Join(", ", log)}");
            Assert.All(log, l => Assert.EndsWith(".1", l, StringComparison.Ordinal));

            // One machine per instance, ever, and none left running.
            var instance = steps["box"].GetProperty("outputs").GetProperty("id").GetString()!;
            var made = machines.Where(m => m.Config?.Metadata?.GetValueOrDefault("orchestrator_instance") == instance).ToList();
            Assert.True(made.Count == 1, $"instance {instance} had {made.Count} machines");
        }

        await Wait.UntilAsync(
            async () => (await fly.ListMachinesAsync(AppName)).All(m => m.State is "destroyed" or "destroying"),
            "every machine to be destroyed by the runs' cleanup");
    }

    private const string Workflow = """
        name: crashy
        steps:
          - id: box
            uses: instance.create
            with: { name: "c-${{ run.id }}", region: ams, size: shared-cpu-1x }
          - id: before
            uses: ssh.exec
            with: { instance: "${{ steps.box.outputs.id }}", command: echo "$ORCH_IDEMPOTENCY_KEY" >> /root/steps.log }
          - id: work
            uses: ssh.exec
            with: { instance: "${{ steps.box.outputs.id }}", command: echo "$ORCH_IDEMPOTENCY_KEY" >> /root/steps.log; test $(grep -c work /root/steps.log) -ge 2 || sleep infinity }
          - id: after
            uses: ssh.exec
            with: { instance: "${{ steps.box.outputs.id }}", command: echo "$ORCH_IDEMPOTENCY_KEY" >> /root/steps.log }
          - id: report
            uses: ssh.exec
            with: { instance: "${{ steps.box.outputs.id }}", command: cat /root/steps.log }
            outputs: { log: stdout }
        finally:
          - id: cleanup
            uses: instance.destroy
            with: { instance: "${{ steps.box.outputs.id }}" }
        """;

    private IEnumerable<string> SiloArguments() =>
    [
        $"--FLY_API_TOKEN={_emulator.ApiToken}",
        $"--Fly:BaseAddress={_emulator.BaseAddress}",
        $"--Fly:AppName={AppName}",
        "--Fly:RateLimitScale=50",
        // The test reads all 50 runs several times a second, above the default per-key API limit.
        "--Orchestrator:Http:RateLimit:PermitsPerSecond=5000",
        "--Orchestrator:Instances:SettlePollInterval=00:00:00.100",
        "--Orchestrator:Workflows:ResumePeriod=00:00:02",
        // After the kill the survivor reconnects to 50 machines at once on a 2-core machine that also runs the
        // other test assemblies: give SSH the time a loaded host needs (the defaults suit one machine at a time).
        "--Orchestrator:Ssh:ConnectTimeout=00:00:30",
        "--Orchestrator:Ssh:ConnectRetryWindow=00:00:30",
        "--Orleans:Membership:ProbeTimeout=00:00:01",
        "--Orleans:Membership:NumMissedProbesLimit=2",
        "--Orleans:Membership:NumVotesForDeathDeclaration=1",
        "--Orleans:Membership:TableRefreshTimeout=00:00:01",
    ];

    /// <summary>The last warnings and errors of a silo process's JSON console log.</summary>
    private static IEnumerable<string> Complaints(IReadOnlyList<string> output) =>
        output.Where(l => l.Contains("\"LogLevel\":\"Warning\"", StringComparison.Ordinal) || l.Contains("\"LogLevel\":\"Error\"", StringComparison.Ordinal) || l.Contains("\"LogLevel\":\"Critical\"", StringComparison.Ordinal))
            .TakeLast(15)
            .Select(l => l.Length > 600 ? l[..600] : l);

    /// <summary>The run's status, or null while the cluster answers 503/504 (a departed silo's grains moving).</summary>
    private static async Task<string?> RunStatusAsync(HttpClient http, string id) =>
        await ReadRunAsync(http, id) is { } run ? run.GetProperty("status").GetString() : null;

    private static async Task<string?> StepStatusAsync(HttpClient http, string id, string step) =>
        await ReadRunAsync(http, id) is { } run
            ? run.GetProperty("steps").EnumerateArray().First(s => s.GetProperty("id").GetString() == step).GetProperty("status").GetString()
            : null;

    /// <summary>The run, or null while a busy silo answers 5xx (read as not there yet); a refusal (4xx) fails the test.</summary>
    private static async Task<JsonElement?> ReadRunAsync(HttpClient http, string id)
    {
        using var response = await http.GetAsync($"/api/runs/{id}");
        if ((int)response.StatusCode >= 500)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        return JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());
    }
}
