using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Orchestrator.Fly.Emulator.Api;

namespace Orchestrator.Fly.Emulator.Backend;

/// <summary>
/// Volumes are host directories (<c>{DataDirectory}/volumes/{id}</c>) that outlive stops and starts of the
/// machine mounting them; snapshots are copies of them.
/// </summary>
internal sealed partial class FlyBackend
{
    private const int BlockSize = 4096;
    private const int MaxVolumeGb = 500;

    [GeneratedRegex("^[a-z0-9_]{1,30}$", RegexOptions.CultureInvariant)]
    private static partial Regex VolumeNamePattern();

    public Outcome<VolumeView> CreateVolume(string appName, CreateVolumeRequest request)
    {
        if (string.IsNullOrEmpty(request.Name))
        {
            return FlyErrors.InvalidArgument("name is required");
        }

        if (!VolumeNamePattern().IsMatch(request.Name))
        {
            return FlyErrors.Unprocessable($"invalid volume name \"{request.Name}\": use at most 30 lowercase letters, digits and underscores");
        }

        var region = string.IsNullOrEmpty(request.Region) ? _options.DefaultRegion : request.Region;
        if (FlyRegions.Check(region) is { } badRegion)
        {
            return badRegion;
        }

        if (request.SizeGb is < 1 or > MaxVolumeGb)
        {
            return FlyErrors.InvalidArgument($"size_gb must be from 1 to {MaxVolumeGb}");
        }

        if (request.SnapshotRetention is < 1 or > 60)
        {
            return FlyErrors.InvalidArgument("snapshot_retention must be from 1 to 60");
        }

        if (request.Fstype is { Length: > 0 } fstype && fstype is not ("ext4" or "raw"))
        {
            return FlyErrors.InvalidArgument($"fstype \"{fstype}\" is not one of ext4, raw");
        }

        // The compute hint places the volume on a host with room for that machine: it must be a valid guest.
        if (request.Compute is not null && GuestSizes.Resolve(request.Compute, null, "compute") is { IsSuccess: false } badCompute)
        {
            return badCompute.Failure!;
        }

        lock (_sync)
        {
            if (FindApp(appName, out var app) is { } failure)
            {
                return failure;
            }

            string? copyFrom = null;
            var size = request.SizeGb ?? 3;
            if (!string.IsNullOrEmpty(request.SnapshotId))
            {
                if (!_snapshots.TryGetValue(request.SnapshotId, out var snapshot))
                {
                    return FlyFailure.Error(404, "snapshot not found");
                }

                copyFrom = snapshot.Directory;
            }
            else if (!string.IsNullOrEmpty(request.SourceVolumeId))
            {
                if (!app.Volumes.TryGetValue(request.SourceVolumeId, out var source))
                {
                    return FlyErrors.VolumeNotFound;
                }

                copyFrom = source.HostDirectory;
                size = Math.Max(size, source.SizeGb);
            }

            var id = FlyIds.VolumeId();
            var volume = new VolumeRecord
            {
                Id = id,
                Name = request.Name,
                Region = region,
                Zone = FlyIds.Zone(),
                Encrypted = request.Encrypted ?? true,
                Fstype = string.IsNullOrEmpty(request.Fstype) ? "ext4" : request.Fstype,
                CreatedAt = _time.GetUtcNow(),
                HostDirectory = _paths.Volume(id),
                SizeGb = size,
                State = copyFrom is null ? "created" : "restoring",
                SnapshotRetention = request.SnapshotRetention ?? 5,
                AutoBackupEnabled = request.AutoBackupEnabled ?? true,
            };
            Directory.CreateDirectory(volume.HostDirectory);
            if (copyFrom is not null)
            {
                // The data is there at once; "restoring" is only shown for a moment, as on Fly.
                CopyDirectory(copyFrom, volume.HostDirectory);
                _ = FinishRestoreAsync(volume);
            }

            app.Volumes.Add(id, volume);
            Log.VolumeCreated(_logger, app.Name, id, volume.HostDirectory);
            return ToView(volume);
        }
    }

    public Outcome<VolumeView> GetVolume(string appName, string volumeId)
    {
        lock (_sync)
        {
            return FindVolume(appName, volumeId, out _, out var volume) is { } failure ? failure : ToView(volume);
        }
    }

    public Outcome<IReadOnlyList<VolumeView>> ListVolumes(string appName)
    {
        lock (_sync)
        {
            if (FindApp(appName, out var app) is { } failure)
            {
                return failure;
            }

            return app.Volumes.Values.OrderBy(v => v.CreatedAt).Select(ToView).ToList();
        }
    }

    public Outcome<VolumeView> UpdateVolume(string appName, string volumeId, UpdateVolumeRequest request)
    {
        if (request.SnapshotRetention is < 1 or > 60)
        {
            return FlyErrors.InvalidArgument("snapshot_retention must be from 1 to 60");
        }

        lock (_sync)
        {
            if (FindVolume(appName, volumeId, out _, out var volume) is { } failure)
            {
                return failure;
            }

            volume.SnapshotRetention = request.SnapshotRetention ?? volume.SnapshotRetention;
            volume.AutoBackupEnabled = request.AutoBackupEnabled ?? volume.AutoBackupEnabled;
            return ToView(volume);
        }
    }

    public Outcome<ExtendVolumeResponse> ExtendVolume(string appName, string volumeId, ExtendVolumeRequest request)
    {
        lock (_sync)
        {
            if (FindVolume(appName, volumeId, out _, out var volume) is { } failure)
            {
                return failure;
            }

            if (request.SizeGb is not { } size || size <= volume.SizeGb)
            {
                return FlyErrors.InvalidArgument($"size_gb must be greater than the current size ({volume.SizeGb} GB): volumes only grow");
            }

            if (size > MaxVolumeGb)
            {
                return FlyErrors.InvalidArgument($"size_gb must be at most {MaxVolumeGb}");
            }

            volume.SizeGb = size;
            return new ExtendVolumeResponse(ToView(volume), NeedsRestart: false);
        }
    }

    public Outcome<VolumeView> DeleteVolume(string appName, string volumeId)
    {
        lock (_sync)
        {
            if (FindVolume(appName, volumeId, out var app, out var volume) is { } failure)
            {
                return failure;
            }

            if (volume.AttachedMachineId is { } machineId)
            {
                return FlyErrors.VolumeBound(machineId);
            }

            app.Volumes.Remove(volumeId);
            volume.State = "destroyed";
            DeleteDirectories([volume.HostDirectory]);
            return ToView(volume);
        }
    }

    public Outcome<IReadOnlyList<SnapshotView>> ListSnapshots(string appName, string volumeId)
    {
        lock (_sync)
        {
            if (FindVolume(appName, volumeId, out _, out var volume) is { } failure)
            {
                return failure;
            }

            return volume.Snapshots
                .Select(s => new SnapshotView(s.Id, s.Size, s.Digest, FlyTime.WithOffset(s.CreatedAt), s.RetentionDays, "created"))
                .ToList();
        }
    }

    public Outcome<SnapshotCreateResponse> CreateSnapshot(string appName, string volumeId)
    {
        lock (_sync)
        {
            if (FindVolume(appName, volumeId, out var app, out var volume) is { } failure)
            {
                return failure;
            }

            var id = FlyIds.SnapshotId();
            var directory = _paths.Snapshot(id);
            // A copy taken under the lock is not crash-consistent for a running machine; neither is Fly's.
            CopyDirectory(volume.HostDirectory, directory);
            var size = DirectorySize(directory);
            var now = _time.GetUtcNow();
            var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)).AsSpan(0, 16)) + "-1";
            var snapshot = new SnapshotRecord(id, volume.Id, size, digest, now, volume.SnapshotRetention, directory);
            volume.Snapshots.Add(snapshot);
            _snapshots.Add(id, snapshot);
            var created = FlyTime.Nanoseconds(now);
            return new SnapshotCreateResponse(new SnapshotCreateMessage(new SnapshotBackupView(
                FlyIds.Numeric(5),
                FlyIds.Numeric(7),
                FlyIds.Numeric(16),
                "prepare",
                "BACKUP_TYPE_ON_DEMAND",
                "",
                created,
                created,
                null,
                id)));
        }
    }

    private async Task FinishRestoreAsync(VolumeRecord volume)
    {
        try
        {
            await Task.Delay(_options.TransitionDelay, _time, _stopping.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        lock (_sync)
        {
            if (volume.State == "restoring")
            {
                volume.State = "created";
            }
        }
    }

    private static VolumeView ToView(VolumeRecord volume)
    {
        var blocks = (long)volume.SizeGb * 1024 * 1024 * 1024 / BlockSize;
        var used = volume.State == "destroyed" ? 0 : DirectorySize(volume.HostDirectory) / BlockSize;
        var free = Math.Max(0, blocks - used);
        return new VolumeView(
            volume.Id,
            volume.Name,
            volume.State,
            volume.SizeGb,
            volume.Region,
            volume.Zone,
            volume.Encrypted,
            volume.AttachedMachineId,
            null,
            FlyTime.Milliseconds(volume.CreatedAt),
            blocks,
            BlockSize,
            free,
            // ext4 keeps ~5% for root, which is what blocks_avail leaves out.
            Math.Max(0, free - (blocks / 20)),
            volume.Fstype,
            volume.SnapshotRetention,
            volume.AutoBackupEnabled,
            "");
    }

    private static long DirectorySize(string directory)
    {
        try
        {
            return Directory.Exists(directory)
                ? new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length)
                : 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        if (!Directory.Exists(source))
        {
            return;
        }

        foreach (var directory in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(target, Path.GetRelativePath(source, directory)));
        }

        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(target, Path.GetRelativePath(source, file)), overwrite: true);
        }
    }

    private string NextIpSuffix() => (++_ipCounter).ToString("x", CultureInfo.InvariantCulture);
}
