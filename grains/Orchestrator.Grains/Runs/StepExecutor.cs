using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Sessions;
using Orchestrator.Workflows;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Runs;

/// <summary>
/// Carries out one attempt of a step and returns its outputs; a failure is an exception whose message says why.
/// Instance and SSH steps pass the attempt's idempotency key down, so a repeated attempt (after a crash) has the
/// effect of one: the instance grain makes no second machine, and commands see <c>ORCH_IDEMPOTENCY_KEY</c>.
/// </summary>
internal sealed class StepExecutor(HttpCheckClients httpChecks, IOptions<WorkflowOptions> options, TimeProvider time)
{
    public const string IdempotencyVariable = "ORCH_IDEMPOTENCY_KEY";
    public const string RunIdVariable = "ORCH_RUN_ID";

    private WorkflowOptions Options => options.Value;

    public async Task<JsonObject> ExecuteAsync(StepAttempt attempt, CancellationToken cancellationToken)
    {
        var with = StepParameters.Render(attempt.Step, attempt.Context);
        return attempt.Step.Uses switch
        {
            StepTypes.InstanceCreate => await CreateInstanceAsync(attempt, with, cancellationToken),
            StepTypes.InstanceStart => await TransitionAsync(attempt, with, InstanceStates.Started, (g, ct) => g.StartAsync(ct), cancellationToken),
            StepTypes.InstanceStop => await TransitionAsync(attempt, with, InstanceStates.Stopped, (g, ct) => g.StopAsync(ct), cancellationToken),
            StepTypes.InstanceDestroy => await DestroyAsync(attempt, with, cancellationToken),
            StepTypes.InstanceResize => await ResizeAsync(attempt, with, cancellationToken),
            StepTypes.InstanceExtendVolume => await ExtendVolumeAsync(attempt, with, cancellationToken),
            StepTypes.SshExec => await ExecAsync(attempt, with, cancellationToken),
            StepTypes.HttpCheck => await HttpCheckAsync(attempt, with, cancellationToken),
            StepTypes.Sleep => await SleepAsync(attempt, with, cancellationToken),
            StepTypes.WaitForSignal => await WaitForSignalAsync(attempt, with, cancellationToken),
            StepTypes.Workflow => await ChildRunAsync(attempt, with, cancellationToken),
            _ => throw new InvalidOperationException($"step type '{attempt.Step.Uses}' cannot be executed"),
        };
    }

    private async Task<JsonObject> CreateInstanceAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var name = with.GetString("name");
        InstanceVolumeSpec? volume = null;
        if (with.GetOptionalMap("volume") is { } volumeMap)
        {
            var volumeParameters = new StepParameters(attempt.Step.Id, volumeMap.Entries);
            volume = volumeParameters.GetOptionalString("id") is { } volumeId
                ? InstanceVolumeSpec.Existing(volumeId, volumeParameters.GetString("path"))
                : new InstanceVolumeSpec(volumeParameters.GetOptionalInteger("size_gb") ?? 0, volumeParameters.GetString("path"));
        }

        var spec = new InstanceSpec(
            name,
            with.GetString("region"),
            ReadSize(attempt, with),
            with.GetOptionalString("image"),
            with.GetOptionalStringMap("env"),
            volume,
            with.GetOptionalBoolean("public_ip") ?? false);
        if (InstanceSpecRules.Validate(spec) is [var problem, ..])
        {
            throw new InvalidOperationException($"instance {problem.Field} {problem.Problem}");
        }

        var grain = Instance(attempt, name);
        await PatientlyAsync(attempt, ct => grain.CreateAsync(spec, attempt.IdempotencyKey, ct), cancellationToken);
        var snapshot = await WaitForStateAsync(attempt, grain, InstanceStates.Started, cancellationToken);
        return InstanceOutputs(snapshot);
    }

    private async Task<JsonObject> TransitionAsync(
        StepAttempt attempt,
        StepParameters with,
        string target,
        Func<IInstanceGrain, CancellationToken, Task<InstanceSnapshot>> transition,
        CancellationToken cancellationToken)
    {
        var grain = Instance(attempt, with.GetString("instance"));
        await PatientlyAsync(attempt, ct => transition(grain, ct), cancellationToken);
        var snapshot = await WaitForStateAsync(attempt, grain, target, cancellationToken);
        return new JsonObject { ["id"] = snapshot.Id, ["state"] = snapshot.ObservedState };
    }

    private async Task<JsonObject> DestroyAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var id = with.GetString("instance");
        var grain = Instance(attempt, id);
        if (await grain.GetAsync(cancellationToken) is null)
        {
            // Cleanup after a create that never happened has nothing to do.
            return new JsonObject { ["id"] = id, ["state"] = "absent" };
        }

        var keepVolume = with.GetOptionalBoolean("keep_volume") ?? false;
        var snapshot = await PatientlyAsync(attempt, ct => grain.DestroyAsync(keepVolume, ct), cancellationToken);
        return new JsonObject { ["id"] = snapshot.Id, ["state"] = snapshot.ObservedState, ["volume_id"] = snapshot.VolumeId };
    }

    private async Task<JsonObject> ResizeAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var grain = Instance(attempt, with.GetString("instance"));
        var size = ReadSize(attempt, with);
        if (InstanceSpecRules.ValidateSize(size) is { } problem)
        {
            throw new InvalidOperationException($"{problem.Field} {problem.Problem}");
        }

        var resized = await PatientlyAsync(attempt, ct => grain.ResizeAsync(size, ct), cancellationToken);
        // Fly restarts the machine with its new size: the step ends when it is back in the state it was asked to be in.
        var snapshot = await WaitForStateAsync(attempt, grain, resized.DesiredState, cancellationToken);
        var (cpuKind, cpus, memoryMb) = InstanceSpecRules.Resolve(snapshot.Size) ?? (snapshot.Size.CpuKind ?? "", snapshot.Size.Cpus ?? 0, snapshot.Size.MemoryMb ?? 0);
        return new JsonObject { ["id"] = snapshot.Id, ["state"] = snapshot.ObservedState, ["cpu_kind"] = cpuKind, ["cpus"] = cpus, ["memory_mb"] = memoryMb };
    }

    private async Task<JsonObject> ExtendVolumeAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var grain = Instance(attempt, with.GetString("instance"));
        var sizeGb = with.GetOptionalInteger("size_gb") ?? throw new InvalidOperationException("size_gb is required");
        var snapshot = await grain.GetAsync(cancellationToken) ?? throw new InvalidOperationException($"instance '{with.GetString("instance")}' does not exist");
        // Steps run at least once: a volume that already has the size asked for (this step's earlier attempt grew it) is done.
        if (snapshot.VolumeSizeGb != sizeGb || snapshot.VolumeId is null)
        {
            snapshot = await PatientlyAsync(attempt, ct => grain.ExtendVolumeAsync(sizeGb, ct), cancellationToken);
        }

        return new JsonObject { ["id"] = snapshot.Id, ["volume_id"] = snapshot.VolumeId, ["size_gb"] = snapshot.VolumeSizeGb };
    }

    /// <summary>A size parameter: a preset name, or a mapping { cpus, memory_mb, cpu_kind }.</summary>
    private static InstanceSize ReadSize(StepAttempt attempt, StepParameters with)
    {
        if (with.Values.TryGetValue("size", out var value) && value is MapValue map)
        {
            var size = new StepParameters(attempt.Step.Id, map.Entries);
            return new InstanceSize(null, size.GetOptionalInteger("cpus") ?? 0, size.GetOptionalInteger("memory_mb") ?? 0, size.GetOptionalString("cpu_kind"));
        }

        return new InstanceSize(with.GetString("size"));
    }

    private async Task<JsonObject> ExecAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var instance = with.GetString("instance");
        var command = with.GetOptionalString("command") ?? with.GetString("script");
        var env = new Dictionary<string, string>(with.GetOptionalStringMap("env") ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [IdempotencyVariable] = attempt.IdempotencyKey,
            [RunIdVariable] = attempt.Run.RunId,
        };
        var accepted = with.GetOptionalIntegers("accepted_exit_codes")?.ToHashSet() ?? [0];

        var session = attempt.Run.Grains.GetGrain<ISshSessionGrain>(SshSessionKey.Format(attempt.Run.Tenant, instance, SshSessionKey.ExecSession));
        var stdout = new CappedText(Options.MaxCapturedOutputBytes);
        var stderr = new CappedText(Options.MaxCapturedOutputBytes);
        var stdoutDecoder = Encoding.UTF8.GetDecoder();
        var stderrDecoder = Encoding.UTF8.GetDecoder();
        // A secret may be cut between two chunks: each stream's redactor holds back what could be the start of one.
        var stdoutRedactor = attempt.Run.CreateOutputRedactor();
        var stderrRedactor = attempt.Run.CreateOutputRedactor();
        // Kept from the masked stream: a tail of the raw one could start in the middle of a secret, unmaskable.
        var stderrTail = new TextTail();
        ExecExit? exit = null;
        try
        {
            await foreach (var item in session.ExecAsync(new ExecCommand(command, env, with.GetOptionalString("cwd"), with.GetOptionalDuration("timeout")), cancellationToken).WithCancellation(cancellationToken))
            {
                switch (item.Kind)
                {
                    case ExecEventKind.Stdout or ExecEventKind.Stderr:
                        var isOut = item.Kind == ExecEventKind.Stdout;
                        var text = Decode(isOut ? stdoutDecoder : stderrDecoder, item.Data!);
                        (isOut ? stdout : stderr).Append(text);
                        await EmitAsync(isOut ? "stdout" : "stderr", (isOut ? stdoutRedactor : stderrRedactor).Push(text));
                        break;
                    case ExecEventKind.Exited:
                        exit = item.Exit;
                        break;
                }
            }
        }
        finally
        {
            // Also when the command failed or was cancelled: the events keep all of the output that arrived.
            await EmitAsync("stdout", stdoutRedactor.Flush());
            await EmitAsync("stderr", stderrRedactor.Flush());
        }

        async Task EmitAsync(string stream, string masked)
        {
            if (masked.Length > 0)
            {
                if (stream == "stderr")
                {
                    stderrTail.Append(masked);
                }

                await attempt.Run.EmitOutputAsync(attempt.Step, attempt.State.Attempt, stream, masked);
            }
        }

        if (exit is null)
        {
            throw new InvalidOperationException("the command ended without an exit status");
        }

        if (exit.TimedOut)
        {
            throw new TimeoutException($"the command timed out after {exit.Duration.TotalSeconds:0.#} s and was killed");
        }

        if (exit.ExitCode is not { } code || !accepted.Contains(code))
        {
            var tail = stderrTail.ToString();
            throw new InvalidOperationException(exit.ExitCode is { } c
                ? $"the command exited with {c}{(tail.Length > 0 ? ": " + tail : "")}"
                : $"the command was killed by signal {exit.Signal}");
        }

        var (stdoutText, stderrText) = (stdout.ToString(), stderr.ToString());
        // Captures read all the output held in memory; the stdout and stderr outputs, which the run's checkpoint
        // carries on every transition, keep only their head. All of the output is in the run's events. Masked before
        // the cut: a cut through a secret would leave a start of it that masking no longer recognises.
        var (stdoutHead, stdoutCut) = OutputHead(attempt.Run.Redact(stdoutText), stdout.Truncated, Options.MaxStepOutputBytes);
        var (stderrHead, stderrCut) = OutputHead(attempt.Run.Redact(stderrText), stderr.Truncated, Options.MaxStepOutputBytes);
        return CapturedOutputs(
            attempt,
            new Dictionary<OutputSource, string> { [OutputSource.Stdout] = stdoutText, [OutputSource.Stderr] = stderrText },
            new Dictionary<string, WorkflowValue>
            {
                ["exit_code"] = WorkflowValue.From(code),
                ["stdout"] = WorkflowValue.From(stdoutHead),
                ["stdout_truncated"] = WorkflowValue.From(stdoutCut),
                ["stderr"] = WorkflowValue.From(stderrHead),
                ["stderr_truncated"] = WorkflowValue.From(stderrCut),
            });
    }

    /// <summary>
    /// The built-in outputs and the step's captures. Captures read all of their source, but what they keep goes into
    /// the run's checkpoint, written on every transition: each keeps at most <see cref="WorkflowOptions.MaxStepOutputBytes"/>,
    /// with <c>&lt;name&gt;_truncated</c> saying whether it was cut.
    /// </summary>
    private JsonObject CapturedOutputs(StepAttempt attempt, IReadOnlyDictionary<OutputSource, string> sources, IReadOnlyDictionary<string, WorkflowValue> builtIn)
    {
        var values = OutputCapturer.CaptureAll(attempt.Step, sources, builtIn);
        var outputs = Outputs(values);
        foreach (var name in attempt.Step.Outputs.Keys)
        {
            var (kept, truncated) = BoundCapture(values[name], attempt.Run.Redact, Options.MaxStepOutputBytes);
            outputs[name] = kept;
            outputs[StepTypes.TruncatedOutput(name)] = truncated;
        }

        return outputs;
    }

    /// <summary>
    /// What a capture keeps of its value: a text keeps its first <paramref name="maxBytes"/> bytes of UTF-8; a list or
    /// mapping (a JSON capture) whose JSON is longer cannot be cut into something meaningful and is kept as null.
    /// Masked before it is measured: a cut through a secret would leave a start of it that masking no longer recognises.
    /// </summary>
    internal static (JsonNode? Kept, bool Truncated) BoundCapture(WorkflowValue value, Func<string, string> redact, int maxBytes)
    {
        switch (value)
        {
            case StringValue text:
                var (head, cut) = OutputHead(redact(text.Value), alreadyTruncated: false, maxBytes);
                return (JsonValue.Create(head), cut);
            case ListValue or MapValue:
                var node = value.ToJsonNode();
                var json = redact(node!.ToJsonString());
                return json.Length <= maxBytes / 3 || Encoding.UTF8.GetByteCount(json) <= maxBytes ? (node, false) : (null, true);
            default:
                return (value.ToJsonNode(), false);
        }
    }

    /// <summary>
    /// The longest start of <paramref name="text"/> that is at most <paramref name="maxBytes"/> bytes of UTF-8, never
    /// ending in half of a surrogate pair, and whether anything of the stream was left out.
    /// </summary>
    internal static (string Head, bool Truncated) OutputHead(string text, bool alreadyTruncated, int maxBytes)
    {
        // Three bytes per UTF-16 character at most: shorter text cannot be over the limit.
        if (text.Length <= maxBytes / 3 || Encoding.UTF8.GetByteCount(text) <= maxBytes)
        {
            return (text, alreadyTruncated);
        }

        var bytes = 0;
        var end = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > maxBytes)
            {
                break;
            }

            bytes += rune.Utf8SequenceLength;
            end += rune.Utf16SequenceLength;
        }

        return (text[..end], true);
    }

    private async Task<JsonObject> HttpCheckAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var url = new Uri(with.GetString("url"), UriKind.Absolute);
        var expected = with.GetOptionalIntegers("expect_status")?.ToHashSet() ?? [200];
        var deadline = time.GetUtcNow() + (with.GetOptionalDuration("timeout") ?? Options.HttpCheckTimeout);
        var interval = with.GetOptionalDuration("interval") ?? Options.HttpCheckInterval;
        // Connects run on the thread pool, but grain calls may only be made from the run grain's own scheduler.
        var grainScheduler = TaskScheduler.Current;
        using var client = httpChecks.Create(() =>
            Task.Factory.StartNew(() => TenantPrivateAddressesAsync(attempt), CancellationToken.None, TaskCreationOptions.None, grainScheduler).Unwrap());
        string last = "no answer yet";
        while (true)
        {
            try
            {
                using var response = await client.GetAsync(url, cancellationToken);
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                if (expected.Contains((int)response.StatusCode))
                {
                    return CapturedOutputs(
                        attempt,
                        new Dictionary<OutputSource, string> { [OutputSource.Body] = body },
                        new Dictionary<string, WorkflowValue>
                        {
                            ["status"] = WorkflowValue.From((int)response.StatusCode),
                            ["body"] = WorkflowValue.From(OutputHead(attempt.Run.Redact(body), alreadyTruncated: false, Options.MaxStepOutputBytes).Head),
                        });
                }

                last = $"status {(int)response.StatusCode}";
            }
            catch (HttpRequestException ex) when (ex.InnerException is HttpCheckRefusedException refused)
            {
                // Asking again cannot help: the address is what it is.
                throw new InvalidOperationException(refused.Url == url || refused.Url is null
                    ? $"http.check refused {url}: {refused.Reason}; {HttpCheckRule}"
                    : $"http.check refused {url}: it redirected to {refused.Url}, and {refused.Reason}; {HttpCheckRule}");
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }

            if (time.GetUtcNow() + interval > deadline)
            {
                throw new TimeoutException($"{url} did not answer {string.Join(" or ", expected)} in time (last: {last})");
            }

            await Task.Delay(interval, time, cancellationToken);
        }
    }

    private const string HttpCheckRule =
        "a check may reach public addresses and the private addresses of the tenant's own instances (" + HttpCheckOptions.SectionName + ":AllowedNetworks allows more)";

    /// <summary>The private addresses of the instances of the run's tenant that are not destroyed.</summary>
    private static async Task<IReadOnlySet<System.Net.IPAddress>> TenantPrivateAddressesAsync(StepAttempt attempt)
    {
        var index = attempt.Run.Grains.GetGrain<IInstanceIndexGrain>(attempt.Run.Tenant);
        var addresses = new HashSet<System.Net.IPAddress>();
        string? cursor = null;
        do
        {
            var page = await index.ListAsync(new InstanceListQuery(InstanceIndexGrain.MaxLimit, cursor));
            foreach (var instance in page.Items)
            {
                if (instance.ObservedState != InstanceStates.Destroyed && System.Net.IPAddress.TryParse(instance.PrivateIp, out var address))
                {
                    addresses.Add(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
                }
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return addresses;
    }

    private async Task<JsonObject> SleepAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var duration = with.GetDuration("duration");
        if (duration > TimeSpan.Zero)
        {
            var at = attempt.State.WakeAt ?? time.GetUtcNow().Add(duration);
            if (attempt.State.WakeAt is null)
            {
                await attempt.Run.SetWaitingAsync(attempt.State, at);
            }

            await attempt.Run.WaitUntilAsync(at, cancellationToken);
        }

        return [];
    }

    private async Task<JsonObject> WaitForSignalAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var name = with.GetString("name");
        DateTimeOffset? deadline = with.GetOptionalDuration("timeout") is { } t ? attempt.State.WakeAt ?? time.GetUtcNow().Add(t) : null;
        if (attempt.State.Status != StepStatuses.Waiting)
        {
            await attempt.Run.SetWaitingAsync(attempt.State, deadline);
        }

        var payload = await attempt.Run.WaitForSignalAsync(name, deadline, cancellationToken);
        return new JsonObject { ["payload"] = JsonNode.Parse(payload) };
    }

    private static async Task<JsonObject> ChildRunAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var workflow = with.GetString("workflow");
        var version = with.GetOptionalInteger("version");
        var inputs = with.GetOptionalMap("inputs")?.ToJsonNode()!.ToJsonString() ?? "{}";
        // Derived from the idempotency key: a resumed attempt finds the child it started instead of starting another.
        var childId = "run-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(attempt.Run.RunKey + "/" + attempt.IdempotencyKey)))[..20];
        var child = attempt.Run.Grains.GetGrain<Orchestrator.Grains.Runs.IWorkflowRunGrain>(InstanceKey.Format(attempt.Run.Tenant, childId));
        // Through the silo-internal interface: the child counts against the tenant's quotas and knows its parent and depth.
        await attempt.Run.Grains.GetGrain<IChildRunGrain>(InstanceKey.Format(attempt.Run.Tenant, childId))
            .StartChildAsync(new RunStartRequest(workflow, version, inputs, attempt.Run.Secrets), attempt.Run.RunId, attempt.Run.Depth + 1, cancellationToken);
        try
        {
            await attempt.Run.WaitForChildAsync(childId, child, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await child.CancelAsync(CancellationToken.None);
            throw;
        }

        var view = await child.GetAsync(cancellationToken) ?? throw new InvalidOperationException($"child run {childId} vanished");
        if (view.Status != RunStatuses.Succeeded)
        {
            throw new InvalidOperationException($"child run {childId} {view.Status}: {view.Error}");
        }

        var outputs = new JsonObject { ["run_id"] = childId, ["status"] = view.Status };
        foreach (var (name, value) in JsonNode.Parse(view.OutputsJson)!.AsObject())
        {
            outputs[name] = value?.DeepClone();
        }

        return outputs;
    }

    /// <summary>
    /// Calls the instance grain, waiting out Fly's rate limit and brief outages (many runs starting at once must
    /// queue, not fail) until the step's deadline; every repeat is safe, the create repeating its idempotency key.
    /// </summary>
    private async Task<T> PatientlyAsync<T>(StepAttempt attempt, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + (attempt.Step.Timeout ?? Options.InstanceReadyTimeout);
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                return await call(cancellationToken);
            }
            catch (InstanceProviderException ex) when (ex.Kind is InstanceProviderErrorKinds.RateLimited or InstanceProviderErrorKinds.Unavailable
                && time.GetUtcNow() + delay < deadline)
            {
                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    private async Task<InstanceSnapshot> WaitForStateAsync(StepAttempt attempt, IInstanceGrain grain, string target, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + (attempt.Step.Timeout ?? Options.InstanceReadyTimeout);
        while (true)
        {
            var snapshot = await grain.GetAsync(cancellationToken) ?? throw new InvalidOperationException("the instance vanished");
            if (snapshot.ObservedState == target)
            {
                return snapshot;
            }

            if (snapshot.ObservedState == InstanceStates.Destroyed)
            {
                throw new InvalidOperationException($"instance {snapshot.Id} was destroyed");
            }

            if (target == InstanceStates.Started && snapshot.ObservedState == InstanceStates.Failed)
            {
                // Fly gave up on the machine: waiting longer cannot help, and the reason is known.
                throw new InvalidOperationException($"instance {snapshot.Id} failed to start: {snapshot.Error?.Message ?? "no reason was recorded"}");
            }

            if (time.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"instance {snapshot.Id} did not become {target} in time (it is {snapshot.ObservedState}{(snapshot.Error is { } e ? ": " + e.Message : "")})");
            }

            await Task.Delay(Options.InstancePollInterval, time, cancellationToken);
        }
    }

    private static JsonObject Outputs(IReadOnlyDictionary<string, WorkflowValue> values) =>
        new(values.Select(p => KeyValuePair.Create(p.Key, p.Value.ToJsonNode())));

    private static JsonObject InstanceOutputs(InstanceSnapshot snapshot)
    {
        var publicIp = snapshot.Ips.FirstOrDefault(ip => ip != snapshot.PrivateIp);
        return new()
        {
            ["id"] = snapshot.Id,
            ["name"] = snapshot.Name,
            ["region"] = snapshot.Region,
            ["private_ip"] = snapshot.PrivateIp,
            ["private_address"] = UrlHost(snapshot.PrivateIp),
            ["public_ip"] = publicIp,
            ["public_address"] = UrlHost(publicIp),
            ["machine_id"] = snapshot.MachineId,
            ["volume_id"] = snapshot.VolumeId,
        };

        static string? UrlHost(string? ip) =>
            System.Net.IPAddress.TryParse(ip, out var address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip;
    }

    private static IInstanceGrain Instance(StepAttempt attempt, string id)
    {
        if (InstanceSpecRules.ValidateName(id) is { } problem)
        {
            throw new InvalidOperationException($"instance '{id}' {problem}");
        }

        // The instance records who asked for each change: this run and step (the step's own async flow only).
        RequestContext.Set(InstanceActor.RunIdKey, attempt.Run.RunId);
        RequestContext.Set(InstanceActor.StepIdKey, attempt.Step.Id);
        return attempt.Run.Grains.GetGrain<IInstanceGrain>(InstanceKey.Format(attempt.Run.Tenant, id));
    }

    private static string Decode(Decoder decoder, byte[] data)
    {
        var chars = new char[decoder.GetCharCount(data, flush: false)];
        var count = decoder.GetChars(data, chars, flush: false);
        return new string(chars, 0, count);
    }

    /// <summary>Keeps the first <c>cap</c> characters of a stream for outputs; the events keep all of it.</summary>
    private sealed class CappedText(int cap)
    {
        private readonly StringBuilder _text = new();

        /// <summary>Whether some of the text appended did not fit.</summary>
        public bool Truncated { get; private set; }

        public void Append(string text)
        {
            var room = cap - _text.Length;
            if (room > 0)
            {
                _text.Append(text.AsSpan(0, Math.Min(room, text.Length)));
            }

            Truncated |= text.Length > Math.Max(room, 0);
        }

        public override string ToString() => _text.ToString();
    }

    /// <summary>The last <see cref="Kept"/> characters of a stream, however long it grows: what an error quotes of its end.</summary>
    internal sealed class TextTail
    {
        public const int Kept = 400;

        private readonly StringBuilder _tail = new();

        public void Append(string text)
        {
            _tail.Append(text.Length > Kept ? text.AsSpan(text.Length - Kept) : text);
            // Trimmed only when it has grown to twice its size, so appending stays linear in the stream.
            if (_tail.Length >= 2 * Kept)
            {
                _tail.Remove(0, _tail.Length - Kept);
            }
        }

        /// <summary>The last characters, at most <see cref="Kept"/>, trimmed; never half of a surrogate pair.</summary>
        public override string ToString()
        {
            var start = Math.Max(0, _tail.Length - Kept);
            if (start < _tail.Length && char.IsLowSurrogate(_tail[start]))
            {
                start++;
            }

            return _tail.ToString(start, _tail.Length - start).Trim();
        }
    }
}
