using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Runs;
using Orchestrator.Grains.Workflows;
using Orchestrator.Testing;
using Orchestrator.Workflows;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Workflow runs through the grains on a real silo (PostgreSQL profile, emulator machines with real sshd): every
/// step type and option.
/// </summary>
public sealed class WorkflowRunTests(ExecFixture fixture) : IClassFixture<ExecFixture>
{
    private IClusterClient Client => fixture.Silo.Client;

    [Fact]
    public async Task SleepStepsRunInOrderAndTheRunSucceedsWithItsOutputs()
    {
        await RegisterAsync("""
            name: naps
            inputs:
              who: { type: string, default: world }
            steps:
              - id: one
                uses: sleep
                with: { duration: 10ms }
              - id: two
                uses: sleep
                with: { duration: 10ms }
            outputs:
              greeting: "hello ${{ inputs.who }}"
            """);

        var run = await RunAsync("naps", new { who = "tests" });

        Assert.Equal(RunStatuses.Succeeded, run.Status);
        Assert.Equal(["one", "two"], run.Steps.Select(s => s.Id));
        Assert.All(run.Steps, s => Assert.Equal(StepStatuses.Succeeded, s.Status));
        Assert.Equal("hello tests", JsonNode.Parse(run.OutputsJson)!["greeting"]!.GetValue<string>());
        Assert.True(run.Steps[0].EndedAt <= run.Steps[1].StartedAt);
    }

    [Fact]
    public async Task AFailingStepIsRetriedWithBackoffEachAttemptWithItsOwnIdempotencyKey()
    {
        await RegisterAsync("""
            name: flaky
            steps:
              - id: try
                uses: ssh.exec
                with:
                  instance: box
                  command: 'n=$(cat /tmp/flaky-$ORCH_RUN_ID 2>/dev/null || echo 0); n=$((n+1)); echo $n > /tmp/flaky-$ORCH_RUN_ID; echo "$ORCH_IDEMPOTENCY_KEY"; [ $n -ge 3 ]'
                retry: { max_attempts: 3, backoff: { initial: 20ms, max: 100ms, multiplier: 2 } }
                outputs:
                  key: stdout
            """);

        var run = await RunAsync("flaky");

        Assert.Equal(RunStatuses.Succeeded, run.Status);
        var step = Assert.Single(run.Steps);
        Assert.Equal(3, step.Attempts);
        Assert.Equal($"{run.RunId}.try.3", JsonNode.Parse(step.OutputsJson)!["key"]!.GetValue<string>());
        var events = await EventsAsync(run.RunId);
        var retried = events.Where(e => e.Kind == RunEventKinds.StepRetried).ToList();
        Assert.Equal([1, 2], retried.Select(e => e.Attempt));
        Assert.Equal([20L, 40L], retried.Select(e => JsonNode.Parse(e.Data)!["delay_ms"]!.GetValue<long>()));
        Assert.Equal(["flaky.try.1", "flaky.try.2", "flaky.try.3"], events.Where(e => e.Kind == RunEventKinds.StepStarted)
            .Select(e => JsonNode.Parse(e.Data)!["idempotency_key"]!.GetValue<string>().Replace(run.RunId, "flaky", StringComparison.Ordinal)));
        Assert.Equal(events.Select(e => e.Sequence), Enumerable.Range(1, events.Count).Select(i => (long)i));
    }

    [Fact]
    public async Task TimeoutsConditionsContinueOnErrorAndFinallyOnFailure()
    {
        await RegisterAsync("""
            name: mixed
            inputs:
              skip_me: { type: boolean, default: true }
            steps:
              - id: slow
                uses: ssh.exec
                with: { instance: box, command: sleep 20.5 }
                timeout: 300ms
                continue_on_error: true
              - id: skipped
                uses: sleep
                with: { duration: 1ms }
                if: ${{ !inputs.skip_me }}
              - id: fails
                uses: ssh.exec
                with: { instance: box, command: echo broken >&2; exit 7 }
              - id: never
                uses: sleep
                with: { duration: 1ms }
            finally:
              - id: on_failure
                uses: ssh.exec
                if: failure()
                with: { instance: box, command: echo cleaning up }
                outputs: { said: stdout }
              - id: on_success
                uses: sleep
                if: success()
                with: { duration: 1ms }
            """);

        var run = await RunAsync("mixed");
        var steps = run.Steps.ToDictionary(s => s.Id);

        Assert.Equal(RunStatuses.Failed, run.Status);
        Assert.Equal(StepStatuses.Failed, steps["slow"].Status);
        Assert.Contains("timed out after 300ms", steps["slow"].Error, StringComparison.Ordinal);
        Assert.Equal(StepStatuses.Skipped, steps["skipped"].Status);
        Assert.Equal(StepStatuses.Failed, steps["fails"].Status);
        Assert.Contains("exited with 7: broken", steps["fails"].Error, StringComparison.Ordinal);
        Assert.Equal(StepStatuses.Skipped, steps["never"].Status);
        Assert.Equal(StepStatuses.Succeeded, steps["on_failure"].Status);
        Assert.Equal("cleaning up", JsonNode.Parse(steps["on_failure"].OutputsJson)!["said"]!.GetValue<string>());
        Assert.True(steps["on_failure"].InFinally);
        Assert.Equal(StepStatuses.Skipped, steps["on_success"].Status);
        Assert.Contains("step 'fails' failed", run.Error, StringComparison.Ordinal);
        await AssertNoProcessAsync("sleep 20.5");
    }

    [Fact]
    public async Task CancellingKillsTheRunningStepAndRunsFinally()
    {
        await RegisterAsync("""
            name: cancellable
            steps:
              - id: long
                uses: ssh.exec
                with: { instance: box, command: echo started; sleep 21.5 }
              - id: after
                uses: sleep
                with: { duration: 1ms }
            finally:
              - id: cleanup
                uses: ssh.exec
                if: cancelled()
                with: { instance: box, command: echo cancelled cleanup }
            """);
        var grain = NewRun();
        await grain.StartAsync(new RunStartRequest("cancellable", null, "{}"));
        await Wait.UntilAsync(async () => (await EventsAsync(grain)).Any(e => e.Kind == RunEventKinds.StepOutput), "the long step to print");

        await grain.CancelAsync();
        var run = await WaitForEndAsync(grain);
        var steps = run.Steps.ToDictionary(s => s.Id);

        Assert.Equal(RunStatuses.Cancelled, run.Status);
        Assert.Equal(StepStatuses.Cancelled, steps["long"].Status);
        Assert.Equal(StepStatuses.Cancelled, steps["after"].Status);
        Assert.Equal(StepStatuses.Succeeded, steps["cleanup"].Status);
        await AssertNoProcessAsync("sleep 21.5");
    }

    [Fact]
    public async Task SignalsDeliverTheirPayloadAndAMissingSignalTimesOut()
    {
        await RegisterAsync("""
            name: approval
            steps:
              - id: approve
                uses: wait_for_signal
                with: { name: approve }
              - id: late
                uses: wait_for_signal
                with: { name: never, timeout: 300ms }
                continue_on_error: true
            outputs:
              approver: ${{ steps.approve.outputs.payload }}
            """);
        var grain = NewRun();
        await grain.StartAsync(new RunStartRequest("approval", null, "{}"));
        await Wait.UntilAsync(async () => (await grain.GetAsync())!.Status == RunStatuses.Waiting, "the run to wait for the signal");

        await grain.SignalAsync("approve", """{"by":"alice"}""");
        var run = await WaitForEndAsync(grain);

        Assert.Equal(RunStatuses.Succeeded, run.Status);
        Assert.Equal("alice", JsonNode.Parse(run.Steps[0].OutputsJson)!["payload"]!["by"]!.GetValue<string>());
        Assert.Equal(StepStatuses.Failed, run.Steps[1].Status);
        Assert.Contains("no signal 'never'", run.Steps[1].Error, StringComparison.Ordinal);
        Assert.Contains(await EventsAsync(grain), e => e.Kind == RunEventKinds.RunSignalled && e.Data.Contains("alice", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ParallelBranchesFanInAndAChildRunReportsItsOutputs()
    {
        await RegisterAsync("""
            name: child
            inputs:
              word: { type: string, required: true }
            steps:
              - id: nap
                uses: sleep
                with: { duration: 5ms }
            outputs:
              echoed: "child says ${{ inputs.word }}"
            """);
        await RegisterAsync("""
            name: fan
            steps:
              - id: both
                uses: parallel
                branches:
                  - - id: left
                      uses: ssh.exec
                      with: { instance: box, command: sleep 0.3; echo L }
                      outputs: { v: stdout }
                  - - id: right
                      uses: ssh.exec
                      with: { instance: box, command: sleep 0.3; echo R }
                      outputs: { v: stdout }
              - id: join
                uses: ssh.exec
                with: { instance: box, command: "echo ${{ steps.left.outputs.v }}${{ steps.right.outputs.v }}" }
                outputs: { v: stdout }
              - id: sub
                uses: workflow
                with: { workflow: child, inputs: { word: "${{ steps.join.outputs.v }}" } }
            """);

        var run = await RunAsync("fan");
        var steps = run.Steps.ToDictionary(s => s.Id);

        Assert.Equal(RunStatuses.Succeeded, run.Status);
        Assert.Equal("LR", JsonNode.Parse(steps["join"].OutputsJson)!["v"]!.GetValue<string>());
        // The branches overlapped: each started before the other ended.
        Assert.True(steps["left"].StartedAt < steps["right"].EndedAt && steps["right"].StartedAt < steps["left"].EndedAt);
        var sub = JsonNode.Parse(steps["sub"].OutputsJson)!;
        Assert.Equal("child says LR", sub["echoed"]!.GetValue<string>());
        var child = await Client.GetGrain<IWorkflowRunGrain>(InstanceKey.Format("dev", sub["run_id"]!.GetValue<string>())).GetAsync();
        Assert.Equal(RunStatuses.Succeeded, child!.Status);
    }

    [Fact]
    public async Task InstanceStepsManageAMachineAndSshStepsUseItsAddress()
    {
        await RegisterAsync("""
            name: machine-life
            steps:
              - id: make
                uses: instance.create
                with: { name: "wf-${{ run.id }}", region: ams, size: shared-cpu-1x }
              - id: where
                uses: ssh.exec
                with: { instance: "${{ steps.make.outputs.id }}", command: "echo ${{ instance.private_ip }}" }
                outputs: { ip: stdout }
              - id: stop
                uses: instance.stop
                with: { instance: "${{ steps.make.outputs.id }}" }
              - id: start
                uses: instance.start
                with: { instance: "${{ steps.make.outputs.id }}" }
            finally:
              - id: cleanup
                uses: instance.destroy
                with: { instance: "${{ steps.make.outputs.id }}" }
            """);

        var run = await RunAsync("machine-life");
        var steps = run.Steps.ToDictionary(s => s.Id);

        Assert.Equal(RunStatuses.Succeeded, run.Status);
        var made = JsonNode.Parse(steps["make"].OutputsJson)!;
        Assert.Equal(made["private_ip"]!.GetValue<string>(), JsonNode.Parse(steps["where"].OutputsJson)!["ip"]!.GetValue<string>());
        Assert.Equal("started", JsonNode.Parse(steps["start"].OutputsJson)!["state"]!.GetValue<string>());
        var instance = await Client.GetGrain<IInstanceGrain>(InstanceKey.Format("dev", made["id"]!.GetValue<string>())).GetAsync();
        Assert.Equal(InstanceStates.Destroyed, instance!.ObservedState);
    }

    [Fact]
    public async Task HttpChecksPollUntilTheStatusAndSecretsAndHostileInputsStayInert()
    {
        var marker = $"/tmp/pwned-{Guid.NewGuid():N}";
        await RegisterAsync($$$"""
            name: checks
            inputs:
              payload: { type: string, required: true }
            steps:
              - id: live
                uses: http.check
                with: { url: "{{{fixture.Silo.Http.BaseAddress}}}health/live", expect_status: 200, interval: 50ms, timeout: 5s }
                outputs: { body: body }
              - id: quoted
                uses: ssh.exec
                with:
                  instance: box
                  command: "printf '%s' ${{ inputs.payload }}; test -e {{{marker}}} && echo PWNED; echo; echo token=${{ secrets.TOKEN }}"
                outputs: { out: stdout }
              - id: missing
                uses: http.check
                with: { url: "{{{fixture.Silo.Http.BaseAddress}}}no/such/page", expect_status: 200, interval: 50ms, timeout: 2s }
            """);
        var payload = $"$(touch {marker}); `touch {marker}` ' \" ; rm -rf /tmp/nothing";

        var run = await RunAsync("checks", new { payload }, new Dictionary<string, string> { ["TOKEN"] = "s3cr3t-value" });
        var steps = run.Steps.ToDictionary(s => s.Id);

        Assert.Equal(RunStatuses.Failed, run.Status);
        Assert.Equal(StepStatuses.Succeeded, steps["live"].Status);
        Assert.Equal(200, JsonNode.Parse(steps["live"].OutputsJson)!["status"]!.GetValue<int>());
        var quoted = JsonNode.Parse(steps["quoted"].OutputsJson)!["out"]!.GetValue<string>();
        Assert.Equal(payload + "\ntoken=***", quoted);
        Assert.DoesNotContain("PWNED", quoted, StringComparison.Ordinal);
        Assert.Contains("token=***", quoted, StringComparison.Ordinal);
        Assert.Equal(StepStatuses.Failed, steps["missing"].Status);
        // A page no operation has is the not-found problem, with or without a key.
        Assert.True(steps["missing"].Error?.Contains("status 404", StringComparison.Ordinal), steps["missing"].Error);
        var events = await EventsAsync(run.RunId);
        Assert.DoesNotContain(events, e => e.Data.Contains("s3cr3t-value", StringComparison.Ordinal));
        Assert.DoesNotContain(fixture.Silo.Log.Lines, l => l.Contains("s3cr3t-value", StringComparison.Ordinal));
        Assert.DoesNotContain("s3cr3t-value", JsonSerializer.Serialize(run), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABuiltInRunStaysTheBuiltInWhenTheTenantRegistersAWorkflowOfThatNameAndTheRunIsReloaded()
    {
        // A region Fly does not have: the built-in fails at its first step, without a machine.
        var grain = NewRun();
        await grain.StartAsync(new RunStartRequest(BuiltInWorkflows.UbuntuBox, null, """{"region":"nowhere"}"""));
        var ended = await WaitForEndAsync(grain);
        var builtInSteps = BuiltInWorkflows.Get(BuiltInWorkflows.UbuntuBox).AllSteps().Select(s => s.Id).ToList();
        Assert.Equal(RunStatuses.Failed, ended.Status);
        Assert.Equal(builtInSteps, ended.Steps.Select(s => s.Id));
        var own = await Client.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format("dev", BuiltInWorkflows.UbuntuBox)).RegisterAsync("""
            name: ubuntu-box
            steps:
              - id: nap
                uses: sleep
                with: { duration: 1ms }
            """);
        Assert.Equal(ended.Version, own.Version);

        // A new activation loads the definition again: from the checkpoint, which must say "the built-in".
        await grain.AsReference<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();
        var reread = await grain.GetAsync();
        await grain.RetryAsync();
        var retried = await WaitForEndAsync(grain);

        Assert.Equal(builtInSteps, reread!.Steps.Select(s => s.Id));
        Assert.Equal(ended.Steps.Select(s => s.Uses), reread.Steps.Select(s => s.Uses));
        Assert.Equal(builtInSteps, retried.Steps.Select(s => s.Id));
        Assert.Equal(2, retried.Steps[0].Attempts);
        Assert.Contains("region", retried.Steps[0].Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASecretCutBetweenTwoOutputChunksIsMaskedInTheEvents()
    {
        const string secret = "split-secret-0123456789";
        await RegisterAsync("""
            name: split-secret
            steps:
              - id: print
                uses: ssh.exec
                with:
                  instance: box
                  # Two writes with a pause between them: the secret reaches the silo in two chunks.
                  command: "printf '%s' \"$S\" | head -c 9; sleep 0.3; printf '%s\\n' \"$S\" | tail -c +10"
                  env: { S: "${{ secrets.S }}" }
            """);

        var run = await RunAsync("split-secret", secrets: new Dictionary<string, string> { ["S"] = secret });

        Assert.Equal(RunStatuses.Succeeded, run.Status);
        var chunks = (await EventsAsync(run.RunId)).Where(e => e.Kind == RunEventKinds.StepOutput).Select(e => JsonNode.Parse(e.Data)!["data"]!.GetValue<string>()).ToList();
        Assert.Equal("***\n", string.Concat(chunks));
        Assert.DoesNotContain(chunks, c => c.Contains(secret[..9], StringComparison.Ordinal) || c.Contains(secret[9..], StringComparison.Ordinal));
    }

    [Fact]
    public async Task AFailedCommandQuotesTheRealEndOfAStderrLongerThanTheOutputCap()
    {
        await RegisterAsync("""
            name: loud-failure
            steps:
              - id: fail
                uses: ssh.exec
                with:
                  instance: box
                  command: "head -c 1500000 /dev/zero | tr '\\0' x >&2; echo >&2; echo 'fatal: the real reason' >&2; exit 4"
            """);

        var run = await RunAsync("loud-failure");

        Assert.Equal(RunStatuses.Failed, run.Status);
        Assert.EndsWith("xxx\nfatal: the real reason", run.Steps[0].Error, StringComparison.Ordinal);
        Assert.StartsWith("the command exited with 4: ", run.Steps[0].Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStepPrintingAMebibyteKeepsTheHeadOfItsOutputInTheCheckpointAndAllOfItInTheStepOutput()
    {
        await RegisterAsync("""
            name: loud
            steps:
              - id: print
                uses: ssh.exec
                with: { instance: box, command: "head -c 1000000 /dev/zero | tr '\\0' x; printf '\\nend=42\\n'; echo oops >&2" }
                outputs:
                  last: { from: stdout, regex: "end=(?<last>[0-9]+)" }
            outputs:
              cut: "${{ steps.print.outputs.stdout_truncated }}"
            """);

        var run = await RunAsync("loud");

        Assert.Equal(RunStatuses.Succeeded, run.Status);
        var outputs = JsonNode.Parse(run.Steps[0].OutputsJson)!;
        Assert.Equal(new string('x', new WorkflowOptions().MaxStepOutputBytes), outputs["stdout"]!.GetValue<string>());
        Assert.True(outputs["stdout_truncated"]!.GetValue<bool>());
        Assert.Equal("oops\n", outputs["stderr"]!.GetValue<string>());
        Assert.False(outputs["stderr_truncated"]!.GetValue<bool>());
        // Captures still read the whole output: the marker is past the head that is kept.
        Assert.Equal("42", outputs["last"]!.GetValue<string>());
        Assert.InRange(run.Steps[0].OutputsJson.Length, 64 * 1024, 65 * 1024);
        Assert.Equal("true", JsonNode.Parse(run.OutputsJson)!["cut"]!.ToString());

        var grain = Client.GetGrain<IWorkflowRunGrain>(InstanceKey.Format("dev", run.RunId));
        var full = await grain.GetStepOutputAsync("print", CancellationToken.None);
        Assert.Equal(new string('x', 1_000_000) + "\nend=42\n", full.Stdout);
        Assert.Equal("oops\n", full.Stderr);

        var checkpointBytes = await LastCheckpointBytesAsync(run.RunId);
        Assert.InRange(checkpointBytes, 64 * 1024, 80 * 1024);
    }

    [Fact]
    public async Task ACaptureOfAMebibyteOfStdoutKeepsItsHeadInTheCheckpointAndSaysItWasCut()
    {
        await RegisterAsync("""
            name: captured
            steps:
              - id: print
                uses: ssh.exec
                with: { instance: box, command: "head -c 1000000 /dev/zero | tr '\\0' x; printf '\\nend=42\\n'" }
                outputs:
                  all: stdout
                  last: { from: stdout, regex: "end=(?<last>[0-9]+)" }
            outputs:
              cut: "${{ steps.print.outputs.all_truncated }}"
            """);

        var run = await RunAsync("captured");

        Assert.Equal(RunStatuses.Succeeded, run.Status);
        var bound = new WorkflowOptions().MaxStepOutputBytes;
        var outputs = JsonNode.Parse(run.Steps[0].OutputsJson)!;
        Assert.Equal(new string('x', bound), outputs["all"]!.GetValue<string>());
        Assert.True(outputs["all_truncated"]!.GetValue<bool>());
        Assert.Equal("42", outputs["last"]!.GetValue<string>());
        Assert.False(outputs["last_truncated"]!.GetValue<bool>());
        Assert.Equal("true", JsonNode.Parse(run.OutputsJson)!["cut"]!.ToString());

        // The stdout output and the capture, 64 KiB each: not the mebibyte the capture read.
        var checkpointBytes = await LastCheckpointBytesAsync(run.RunId);
        Assert.InRange(checkpointBytes, 2 * bound, 2 * bound + 16 * 1024);
    }

    /// <summary>
    /// The size of the run's checkpoint once its end is written. A view may show the run ended while that write is
    /// in flight; the run's index row is written after it, so an ended index row means the checkpoint holds the end.
    /// </summary>
    private async Task<int> LastCheckpointBytesAsync(string runId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(fixture.Database.ConnectionString);
        await connection.OpenAsync();
        await Wait.UntilAsync(
            async () =>
            {
                await using var status = new Npgsql.NpgsqlCommand("select status from orchestrator_runs where tenant = 'dev' and run_id = @id", connection);
                status.Parameters.AddWithValue("id", runId);
                return await status.ExecuteScalarAsync() is string s && RunStatuses.IsTerminal(s);
            },
            $"run {runId} to be listed as ended (its last checkpoint written)");
        await using var command = new Npgsql.NpgsqlCommand("select octet_length(payload) from orchestrator_run_states where run_key = @key", connection);
        command.Parameters.AddWithValue("key", InstanceKey.Format("dev", runId));
        return Assert.IsType<int>(await command.ExecuteScalarAsync());
    }

    private IWorkflowRunGrain NewRun() => Client.GetGrain<IWorkflowRunGrain>(InstanceKey.Format("dev", "run-" + Guid.NewGuid().ToString("N")[..20]));

    private Task<List<RunEvent>> EventsAsync(string runId) => EventsAsync(Client.GetGrain<IWorkflowRunGrain>(InstanceKey.Format("dev", runId)));

    private static async Task<List<RunEvent>> EventsAsync(IWorkflowRunGrain grain)
    {
        var events = new List<RunEvent>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await foreach (var item in grain.WatchAsync(0, stop.Token))
            {
                events.Add(item);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // A live run's watch only ends with the run: what arrived within the second is enough here.
        }

        return events;
    }

    private async Task AssertNoProcessAsync(string commandLine)
    {
        var session = Client.GetGrain<Orchestrator.Grains.Sessions.ISshSessionGrain>("dev/box/exec");
        await Wait.UntilAsync(
            async () =>
            {
                var output = new System.Text.StringBuilder();
                await foreach (var item in session.ExecAsync(new Orchestrator.Grains.Sessions.ExecCommand($"pgrep -fx '{commandLine}' >/dev/null && echo yes || echo no")))
                {
                    if (item.Data is { } data)
                    {
                        output.Append(System.Text.Encoding.UTF8.GetString(data));
                    }
                }

                return output.ToString() == "no\n";
            },
            $"'{commandLine}' to be gone");
    }

    private async Task RegisterAsync(string yaml)
    {
        var name = yaml.Split('\n')[0]["name: ".Length..].Trim();
        await Client.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format("dev", name)).RegisterAsync(yaml);
    }

    private async Task<RunView> RunAsync(string workflow, object? inputs = null, IReadOnlyDictionary<string, string>? secrets = null, string? runId = null)
    {
        var grain = Client.GetGrain<IWorkflowRunGrain>(InstanceKey.Format("dev", runId ?? "run-" + Guid.NewGuid().ToString("N")[..20]));
        await grain.StartAsync(new RunStartRequest(workflow, null, JsonSerializer.Serialize(inputs ?? new { }), secrets));
        return await WaitForEndAsync(grain);
    }

    private static async Task<RunView> WaitForEndAsync(IWorkflowRunGrain grain)
    {
        RunView? view = null;
        await Wait.UntilAsync(async () => (view = await grain.GetAsync()) is { } v && RunStatuses.IsTerminal(v.Status), "the run to end");
        return view!;
    }
}
