using System.Collections;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using OpenTelemetry.Trace;
using Orchestrator.Fly.Emulator;
using Orchestrator.Hosting;
using Orchestrator.Telemetry;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// A silo on PostgreSQL over an emulator with real sshd, whose own OpenTelemetry wiring exports spans to memory:
/// the test adds only a tracer provider with the in-memory exporter, the sources and instrumentation are the host's.
/// </summary>
public sealed class TelemetryFixture : IAsyncLifetime
{
    public const string AppName = "telemetry-test";

    private readonly PostgresDatabaseFixture _database = new();

    public FlyEmulator Emulator { get; private set; } = null!;

    internal SiloNode Silo { get; private set; } = null!;

    public SpanCollection Spans { get; } = new();

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        Emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(50), RateLimitScale = 20 });
        Silo = await SiloNode.StartAsync(
            _database.ConnectionString,
            "telemetry",
            services => services.AddOpenTelemetry().WithTracing(tracing => tracing.AddInMemoryExporter(Spans)),
            $"--FLY_API_TOKEN={Emulator.ApiToken}",
            $"--Fly:BaseAddress={Emulator.BaseAddress}",
            $"--Fly:AppName={AppName}",
            "--Orchestrator:Instances:SettlePollInterval=00:00:00.100",
            "--Orchestrator:Ssh:ConnectRetryWindow=00:00:01");
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        await Emulator.DisposeAsync();
        await _database.DisposeAsync();
    }

    /// <summary>The exporter adds from the threads that end spans; tests read snapshots.</summary>
    public sealed class SpanCollection : ICollection<Activity>
    {
        private readonly List<Activity> _items = [];

        public int Count
        {
            get
            {
                lock (_items)
                {
                    return _items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public IReadOnlyList<Activity> Snapshot()
        {
            lock (_items)
            {
                return [.. _items];
            }
        }

        public void Add(Activity item)
        {
            lock (_items)
            {
                _items.Add(item);
            }
        }

        public void Clear()
        {
            lock (_items)
            {
                _items.Clear();
            }
        }

        public bool Contains(Activity item) => Snapshot().Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => Snapshot().ToList().CopyTo(array, arrayIndex);

        public bool Remove(Activity item)
        {
            lock (_items)
            {
                return _items.Remove(item);
            }
        }

        public IEnumerator<Activity> GetEnumerator() => Snapshot().GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

/// <summary>Traces, metrics and request-id log scopes of real requests: HTTP → grains → Fly API → SSH.</summary>
public sealed class TelemetryTests(TelemetryFixture fixture) : IClassFixture<TelemetryFixture>
{
    private const string AspNetCoreSource = "Microsoft.AspNetCore";

    [Fact]
    public async Task OneExecIsOneTraceFromTheServerSpanThroughGrainCallsToTheSshSpan()
    {
        await CreateAsync("traced-exec", "create-for-exec");

        using (var exec = await SendAsync(HttpMethod.Post, "/api/instances/traced-exec/exec", "exec-trace-1", """{"command":"echo traced"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, exec.StatusCode);
            Assert.Contains("traced", await exec.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var server = await ServerSpanAsync("exec-trace-1");
        var ssh = await SpanAsync(server, s => s.Source.Name == OrchestratorTelemetry.Name && s.OperationName == OrchestratorTelemetry.SshExecSpan, "the ssh exec span");
        var chain = ChainToServer(ssh, server);

        Assert.Equal(SshExecStatuses.Success, ssh.GetTagItem("ssh.exec.status"));
        Assert.Equal(0, ssh.GetTagItem("ssh.exec.exit_code"));
        Assert.Contains(chain, s => s.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && s.Kind == ActivityKind.Server);
        Assert.Contains(chain, s => s.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && s.Kind == ActivityKind.Client);
        AssertInOrder(chain);
    }

    [Fact]
    public async Task ACreateIsOneTraceFromTheServerSpanThroughGrainCallsToFlyCallsAndTheirHttpSpans()
    {
        await CreateAsync("traced-create", "create-trace-1");

        var server = await ServerSpanAsync("create-trace-1");
        var create = await SpanAsync(server, s => s.OperationName == OrchestratorTelemetry.FlyCallSpan && (string?)s.GetTagItem("fly.category") == "machines.create", "the Fly create span");
        var chain = ChainToServer(create, server);
        var http = await SpanAsync(server, s => s.Source.Name == "System.Net.Http" && s.ParentSpanId == create.SpanId, "the HttpClient span under the Fly create span");

        Assert.Equal("fly machines.create", create.DisplayName);
        Assert.Equal(ActivityKind.Client, http.Kind);
        Assert.Equal("POST", http.GetTagItem("http.request.method"));
        Assert.Contains(chain, s => s.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal));
        AssertInOrder([http, .. chain]);
    }

    [Fact]
    public async Task MetersCountFlyCallsByCategoryAndSshExecsByStatus()
    {
        var factory = fixture.Silo.App.Services.GetRequiredService<IMeterFactory>();
        var measurements = new List<(string Instrument, long Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            // This host's meter only: other hosts in the test process have their own factories.
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == OrchestratorTelemetry.Name && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            lock (measurements)
            {
                measurements.Add((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
            }
        });
        listener.Start();

        await CreateAsync("metered", "create-metered");
        using (var exec = await SendAsync(HttpMethod.Post, "/api/instances/metered/exec", "exec-metered", """{"command":"exit 3"}"""))
        {
            await exec.Content.ReadAsStringAsync();
        }

        await Wait.UntilAsync(() => Task.FromResult(Snapshot().Any(m => m.Instrument == OrchestratorMetrics.SshExecs)), "the ssh exec counter");
        var seen = Snapshot();
        Assert.Contains(seen, m => m.Instrument == OrchestratorMetrics.FlyCalls && (string?)m.Tags["category"] == "machines.create" && (string?)m.Tags["outcome"] == "ok");
        Assert.Contains(seen, m => m.Instrument == OrchestratorMetrics.SshExecs && (string?)m.Tags["status"] == SshExecStatuses.Failure && m.Value == 1);

        List<(string Instrument, long Value, Dictionary<string, object?> Tags)> Snapshot()
        {
            lock (measurements)
            {
                return [.. measurements];
            }
        }
    }

    [Fact]
    public async Task LinesTheGrainsWriteWhileHandlingARequestCarryItsId()
    {
        var from = fixture.Silo.Log.Entries.Count;
        await CreateAsync("logged", "create-logged");

        // Every line a grain wrote about this instance while the create was being handled, whatever its scopes:
        // a line that lost the request id must be among them and fail the test, not be filtered out beforehand.
        var grainLines = fixture.Silo.Log.Entries.Skip(from)
            .Where(e => e.Category.StartsWith("Orchestrator.Grains", StringComparison.Ordinal) && e.Message.Contains("logged", StringComparison.Ordinal))
            .ToList();
        Assert.Contains(grainLines, e => e.Message.StartsWith("Instance ", StringComparison.Ordinal) && e.Message.Contains(" created: machine ", StringComparison.Ordinal));
        Assert.All(grainLines, e => Assert.True(e.Scope(RequestIds.Key) == "create-logged", $"{e.Category}: '{e.Message}' was written with request id '{e.Scope(RequestIds.Key) ?? "(none)"}'"));
    }

    private async Task CreateAsync(string name, string requestId)
    {
        using var created = await SendAsync(HttpMethod.Post, "/api/instances?wait=started", requestId, $$"""{"name":"{{name}}","region":"ams","size":"shared-cpu-1x"}""");
        Assert.True(created.StatusCode == HttpStatusCode.Created, $"create {name}: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        Assert.Equal(requestId, Assert.Single(created.Headers.GetValues(RequestIds.HeaderName)));
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string requestId, string json)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(json, MediaTypeHeaderValue.Parse("application/json")) };
        request.Headers.Add(RequestIds.HeaderName, requestId);
        return await fixture.Silo.Http.SendAsync(request);
    }

    private async Task<Activity> ServerSpanAsync(string requestId) =>
        await SpanAsync(null, s => s.Source.Name == AspNetCoreSource && s.Kind == ActivityKind.Server && (string?)s.GetTagItem(RequestIds.Key) == requestId, $"the server span of request {requestId}");

    private async Task<Activity> SpanAsync(Activity? inTraceOf, Func<Activity, bool> match, string what)
    {
        Activity? found = null;
        await Wait.UntilAsync(
            () => Task.FromResult((found = fixture.Spans.Snapshot().FirstOrDefault(s => (inTraceOf is null || s.TraceId == inTraceOf.TraceId) && match(s))) is not null),
            what);
        return found!;
    }

    /// <summary>The span, its parent, its parent's parent... up to the server span, which must be an ancestor.</summary>
    private List<Activity> ChainToServer(Activity span, Activity server)
    {
        var trace = fixture.Spans.Snapshot().Where(s => s.TraceId == server.TraceId).ToDictionary(s => s.SpanId);
        var chain = new List<Activity> { span };
        while (chain[^1].SpanId != server.SpanId)
        {
            Assert.True(
                trace.TryGetValue(chain[^1].ParentSpanId, out var parent),
                $"span '{chain[^1].DisplayName}' ({chain[^1].Source.Name}) has parent {chain[^1].ParentSpanId}, which is not in the trace; chain so far: {Describe(chain)}");
            chain.Add(parent);
        }

        return chain;
    }

    /// <summary>Each span started no earlier than its parent (the list runs from child to ancestor).</summary>
    private static void AssertInOrder(List<Activity> childToAncestor)
    {
        for (var i = 0; i < childToAncestor.Count - 1; i++)
        {
            Assert.True(
                childToAncestor[i].StartTimeUtc >= childToAncestor[i + 1].StartTimeUtc,
                $"'{childToAncestor[i].DisplayName}' started before its parent '{childToAncestor[i + 1].DisplayName}': {Describe(childToAncestor)}");
        }
    }

    private static string Describe(IEnumerable<Activity> spans) =>
        string.Join(" <- ", spans.Reverse().Select(s => $"{s.Source.Name}:{s.DisplayName}({s.Kind})"));
}
