using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Orchestrator.Fly.Emulator.Api;
using Orchestrator.Fly.Emulator.Runtime;

namespace Orchestrator.Fly.Emulator.Backend;

/// <summary>
/// The emulated Fly organisation: apps, machines, volumes, snapshots and IPs, in memory, with
/// machines that are real sandboxes. Calls validate and change state under one lock and return at
/// once, as Fly does; the slow part of each transition (the sandbox, and the time each transient
/// state stays visible) runs afterwards in the machine's own flow.
/// </summary>
internal sealed partial class FlyBackend : IDisposable
{
    private readonly Lock _sync = new();
    private readonly Dictionary<string, AppRecord> _apps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MachineRecord> _machines = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SnapshotRecord> _snapshots = new(StringComparer.Ordinal);
    private readonly IMachineRuntime _runtime;
    private readonly TimeProvider _time;
    private readonly FlyEmulatorOptions _options;
    private readonly EmulatorPaths _paths;
    private readonly AddressPool _addresses;
    private readonly ILogger<FlyBackend> _logger;
    private readonly FaultInjection _faults;
    private readonly CancellationTokenSource _stopping = new();
    private int _ipCounter;

    public FlyBackend(
        IMachineRuntime runtime,
        TimeProvider time,
        IOptions<FlyEmulatorOptions> options,
        EmulatorPaths paths,
        FaultInjection faults,
        ILogger<FlyBackend> logger)
    {
        _runtime = runtime;
        _faults = faults;
        _time = time;
        _options = options.Value;
        _paths = paths;
        _logger = logger;
        _addresses = new AddressPool(_options.SshPort);
        _runtime.Exited += OnRuntimeExited;
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex AppNamePattern();

    public Outcome<CreateAppResponse> CreateApp(CreateAppRequest request)
    {
        // The docs and the 2025 spec say app_name; the newer spec and fly-go say name.
        var name = !string.IsNullOrEmpty(request.Name) ? request.Name : request.AppName;
        if (string.IsNullOrEmpty(name))
        {
            return FlyErrors.InvalidArgument("app_name is required");
        }

        if (!AppNamePattern().IsMatch(name))
        {
            return FlyErrors.Unprocessable("Validation failed: Name may only contain lowercase letters, numbers, and dashes, and must start and end with a letter or number");
        }

        if (string.IsNullOrEmpty(request.OrgSlug))
        {
            return FlyErrors.InvalidArgument("org_slug is required");
        }

        lock (_sync)
        {
            // App names are one namespace across every organisation.
            if (_apps.ContainsKey(name))
            {
                return FlyErrors.NameTaken;
            }

            var app = new AppRecord
            {
                Id = FlyIds.AppId(),
                Name = name,
                OrgSlug = request.OrgSlug,
                Network = string.IsNullOrEmpty(request.Network) ? "default" : request.Network,
                CreatedAt = _time.GetUtcNow(),
            };
            _apps.Add(name, app);
            Log.AppCreated(_logger, name, request.OrgSlug);
            return new CreateAppResponse(app.Id, app.CreatedAt.ToUnixTimeMilliseconds());
        }
    }

    public Outcome<AppView> GetApp(string appName)
    {
        lock (_sync)
        {
            return FindApp(appName, out var app) is { } failure ? failure : ToView(app);
        }
    }

    public Outcome<AppListResponse> ListApps(string? orgSlug)
    {
        if (string.IsNullOrEmpty(orgSlug))
        {
            return FlyErrors.InvalidArgument("org_slug is required");
        }

        lock (_sync)
        {
            var apps = _apps.Values
                .Where(a => a.OrgSlug == orgSlug)
                .OrderBy(a => a.Name, StringComparer.Ordinal)
                .Select(a => new AppListItem(a.Id, a.Name, a.Machines.Values.Count(m => m.State != MachineStates.Destroyed), a.Volumes.Count, a.Network))
                .ToList();
            return new AppListResponse(apps.Count, apps);
        }
    }

    /// <summary>Deletes the app with its machines, volumes and IPs. Running machines need <paramref name="force"/>.</summary>
    public FlyFailure? DeleteApp(string appName, bool force)
    {
        List<string> volumeDirectories;
        lock (_sync)
        {
            if (FindApp(appName, out var app) is { } failure)
            {
                return failure;
            }

            var live = app.Machines.Values.Where(m => m.State is not (MachineStates.Destroyed or MachineStates.Destroying)).ToList();
            if (!force && live.Any(m => !MachineStates.DestroyableWithoutForce(m)))
            {
                return FlyErrors.FailedPrecondition("app has running machines; stop them first or use force=true");
            }

            foreach (var machine in live)
            {
                machine.LaunchPending = false;
                machine.Lease = null;
                var generation = Begin(machine, MachineStates.Destroying, null);
                Enqueue(machine, token => DestroyFlowAsync(machine, generation, token));
            }

            volumeDirectories = app.Volumes.Values.Select(v => v.HostDirectory).ToList();
            app.Deleted = true;
            _apps.Remove(appName);
            Log.AppDeleted(_logger, appName, live.Count);
            var chains = live.Select(m => m.Chain).ToArray();
            // Volume data goes once no machine of the app can still be writing to it.
            _ = Task.WhenAll(chains).ContinueWith(
                _ => DeleteDirectories(volumeDirectories),
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
        }

        return null;
    }

    /// <summary>
    /// Ends every flow, then stops every machine the runtime may still be running. Called once, at
    /// shutdown: no sandbox may outlive the emulator.
    /// </summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        Task[] chains;
        lock (_sync)
        {
            chains = _machines.Values.Select(m => m.Chain).ToArray();
        }

        await _stopping.CancelAsync();
        try
        {
            await Task.WhenAll(chains).WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
            Log.ShutdownFlowsOverran(_logger);
        }

        string[] active;
        lock (_sync)
        {
            active = _machines.Values.Where(m => m.RuntimeActive).Select(m => m.Id).ToArray();
            foreach (var machine in _machines.Values)
            {
                machine.RuntimeActive = false;
            }
        }

        Log.StoppingMachines(_logger, active.Length);
        await Task.WhenAll(active.Select(id => StopQuietlyAsync(id, cancellationToken)));
    }

    private async Task StopQuietlyAsync(string machineId, CancellationToken cancellationToken)
    {
        try
        {
            await _runtime.StopAsync(machineId, cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.RuntimeCallFailed(_logger, "stop", machineId, ex);
        }
    }

    public void Dispose()
    {
        _runtime.Exited -= OnRuntimeExited;
        _stopping.Dispose();
    }

    private FlyFailure? FindApp(string appName, out AppRecord app)
    {
        if (_apps.TryGetValue(appName, out var found))
        {
            app = found;
            return null;
        }

        app = null!;
        return FlyErrors.AppNotFound;
    }

    private FlyFailure? FindMachine(string appName, string machineId, out MachineRecord machine)
    {
        machine = null!;
        if (FindApp(appName, out var app) is { } failure)
        {
            return failure;
        }

        if (!app.Machines.TryGetValue(machineId, out var found))
        {
            return FlyErrors.MachineNotFound;
        }

        machine = found;
        return null;
    }

    private FlyFailure? FindVolume(string appName, string volumeId, out AppRecord app, out VolumeRecord volume)
    {
        volume = null!;
        if (FindApp(appName, out app) is { } failure)
        {
            return failure;
        }

        if (!app.Volumes.TryGetValue(volumeId, out var found))
        {
            return FlyErrors.VolumeNotFound;
        }

        volume = found;
        return null;
    }

    private static AppView ToView(AppRecord app) =>
        new(app.Id, app.Name, app.Machines.Values.Any(m => m.State != MachineStates.Destroyed) ? "deployed" : "pending", new OrganizationView(app.OrgSlug, app.OrgSlug));

    private void DeleteDirectories(IEnumerable<string> directories)
    {
        foreach (var directory in directories)
        {
            try
            {
                if (Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Log.DeleteFailed(_logger, directory, ex);
            }
        }
    }
}
