using System.Diagnostics;
using System.Globalization;
using Orchestrator.Fly;
using Orchestrator.Fly.Emulator;

namespace Orchestrator.Benchmarks;

/// <summary>
/// N machines created and started concurrently through the production client against the emulator
/// enforcing Fly's rate limits, compared with the floor those limits allow: creates share one per-app bucket
/// (burst 3, then 1/s), so N creates cannot finish before (N - 3) s, plus the last machine's own start.
/// </summary>
internal sealed class MachineFleetBenchmark(int machines, double scale)
{
    private static readonly TimeSpan TransitionDelay = TimeSpan.FromMilliseconds(300);

    public TimeSpan Floor =>
        (FlyRateLimits.PerAction.Interval / scale * Math.Max(0, machines - FlyRateLimits.PerAction.Burst)) + (2 * TransitionDelay);

    public async Task<FleetRun> RunAsync(int run)
    {
        await using var emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TransitionDelay, RateLimitScale = scale });
        var counters = new CallCounters();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(counters);
        services.AddTransient<CallerSideCounter>();
        services.AddTransient<WireCounter>();
        // Outermost: what the caller sees. Added before AddFlyMachines so it wraps the client's own handlers.
        services.ConfigureHttpClientDefaults(http => http.AddHttpMessageHandler<CallerSideCounter>());
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fly:BaseAddress"] = emulator.BaseAddress.ToString(),
            ["Fly:ApiToken"] = emulator.ApiToken,
            ["Fly:AppName"] = "bench",
            ["Fly:RateLimitScale"] = scale.ToString(CultureInfo.InvariantCulture),
            ["Fly:TotalTimeout"] = "00:05:00",
            ["Fly:AttemptTimeout"] = "00:01:05",
        }).Build();
        services.AddFlyMachines(configuration);
        // Innermost: every request that reaches the wire, retries included.
        services.AddHttpClient(FlyServiceCollectionExtensions.HttpClientName).AddHttpMessageHandler<WireCounter>();
        await using var provider = services.BuildServiceProvider();
        var fly = provider.GetRequiredService<IMachineProvider>();
        var app = $"bench-{run}";
        await fly.CreateAppAsync(app);
        counters.Reset();

        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, machines).Select(async i =>
        {
            var machine = await fly.CreateMachineAsync(app, new CreateMachineRequest
            {
                Name = $"m-{i}",
                Region = "ams",
                Config = new FlyMachineConfig { Image = "ubuntu:24.04", Guest = new FlyGuest { CpuKind = "shared", Cpus = 1, MemoryMb = 256 } },
            });
            await fly.WaitForStateAsync(app, machine.Id!, "started", TimeSpan.FromMinutes(5));
        }));
        clock.Stop();

        var started = (await fly.ListMachinesAsync(app)).Count(m => m.State == "started");
        return new FleetRun(clock.Elapsed, counters.Calls, counters.WireRequests, counters.WireRateLimited, counters.CallerRateLimited, started);
    }

    internal sealed class CallCounters
    {
        private int _calls;
        private int _wire;
        private int _wire429;
        private int _caller429;

        public int Calls => _calls;

        public int WireRequests => _wire;

        public int WireRateLimited => _wire429;

        public int CallerRateLimited => _caller429;

        public void Reset() => (_calls, _wire, _wire429, _caller429) = (0, 0, 0, 0);

        public void Caller(int status)
        {
            Interlocked.Increment(ref _calls);
            if (status == 429)
            {
                Interlocked.Increment(ref _caller429);
            }
        }

        public void Wire(int status)
        {
            Interlocked.Increment(ref _wire);
            if (status == 429)
            {
                Interlocked.Increment(ref _wire429);
            }
        }
    }

    private sealed class CallerSideCounter(CallCounters counters) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            counters.Caller((int)response.StatusCode);
            return response;
        }
    }

    private sealed class WireCounter(CallCounters counters) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            counters.Wire((int)response.StatusCode);
            return response;
        }
    }
}

internal sealed record FleetRun(TimeSpan Elapsed, int Calls, int WireRequests, int WireRateLimited, int CallerRateLimited, int Started);
