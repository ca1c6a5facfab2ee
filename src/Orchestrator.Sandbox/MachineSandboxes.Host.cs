using System.Globalization;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;

namespace Orchestrator.Sandbox;

/// <summary>Host discovery, once at the first start: its tools, whether bubblewrap isolates, and the reaper run.</summary>
public sealed partial class MachineSandboxes
{
    [SupportedOSPlatform("linux")]
    private async Task<HostSetup> SetUpAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _setup) is { } ready)
        {
            return ready;
        }

        await _initializeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_setup is { } raced)
            {
                return raced;
            }

            ObjectDisposedException.ThrowIf(IsDisposed, this);
            var setup = await DiscoverHostAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _setup, setup);
            return setup;
        }
        finally
        {
            _initializeLock.Release();
        }
    }

    [SupportedOSPlatform("linux")]
    private async Task<HostSetup> DiscoverHostAsync(CancellationToken cancellationToken)
    {
        if (HostPrerequisites.Find(_options).Where(item => item.Required).ToList() is { Count: > 0 } missing)
        {
            throw new InvalidOperationException(HostPrerequisites.Describe(missing));
        }

        var sshd = _options.SshdPath is { } configured ? Path.GetFullPath(configured) : HostTool.Find("sshd", DefaultSshdPath)!;
        var keygen = HostTool.Find("ssh-keygen", DefaultKeygenPath)!;
        var isRoot = Environment.IsPrivilegedProcess;
        if (!isRoot)
        {
            LogNotRoot(Environment.UserName);
        }

        var (_, version) = await HostTool.RunAsync(sshd, ["-V"], _toolTimeout, cancellationToken).ConfigureAwait(false);
        var match = OpenSshVersion().Match(version);
        var disablePenalties = match.Success
            && new Version(int.Parse(match.Groups["major"].ValueSpan, CultureInfo.InvariantCulture), int.Parse(match.Groups["minor"].ValueSpan, CultureInfo.InvariantCulture)) >= new Version(9, 8);
        var sftpServer = HostTool.Find("sftp-server", "/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/libexec/sftp-server");

        Directory.CreateDirectory(Path.Combine(_dataDirectory, MachineLayout.MachinesDirectoryName), Mode0755);
        var self = ProcessIdentity.Current();
        await ReapLeftoversAsync(self, cancellationToken).ConfigureAwait(false);

        var spawner = new ProcessSpawner();
        try
        {
            var bubblewrap = await ChooseBubblewrapAsync(isRoot, spawner, cancellationToken).ConfigureAwait(false);
            if (bubblewrap is null && isRoot)
            {
                // Privilege separation chroots into /run/sshd; without systemd nobody else creates it.
                // (With bubblewrap each machine root has its own.)
                Directory.CreateDirectory("/run/sshd", Mode0755);
            }

            return new HostSetup(sshd, keygen, bubblewrap, isRoot, disablePenalties, sftpServer, self, spawner);
        }
        catch
        {
            spawner.Dispose();
            throw;
        }
    }

    /// <summary>The bwrap path when machines are to be isolated, else null (after saying why, once).</summary>
    [SupportedOSPlatform("linux")]
    private async Task<string?> ChooseBubblewrapAsync(bool isRoot, ProcessSpawner spawner, CancellationToken cancellationToken)
    {
        if (_options.UseBubblewrap == false)
        {
            LogNotIsolated("MachineSandboxOptions.UseBubblewrap is false");
            return null;
        }

        var bubblewrap = HostTool.Find("bwrap", DefaultBubblewrapPath);
        string? failure;
        if (bubblewrap is null)
        {
            failure = $"bubblewrap (bwrap) is not installed; {InstallBubblewrap}";
        }
        else if (HostTool.Find("true", "/usr/bin/true", "/bin/true") is not { } truePath)
        {
            failure = "no `true` executable to try bubblewrap with";
        }
        else
        {
            var (exitCode, output) = await HostTool.RunAsync(bubblewrap, Bubblewrap.TrialArguments(isRoot, truePath), _toolTimeout, cancellationToken, spawner).ConfigureAwait(false);
            failure = exitCode == 0 ? null : $"a trial bubblewrap sandbox failed with exit code {exitCode}: {output.Trim()}";
        }

        if (failure is null)
        {
            return bubblewrap;
        }

        if (_options.UseBubblewrap == true)
        {
            throw new InvalidOperationException($"MachineSandboxOptions.UseBubblewrap is true, but {failure}.");
        }

        LogNotIsolated(failure);
        return null;
    }

    [GeneratedRegex(@"OpenSSH_(?<major>\d+)\.(?<minor>\d+)")]
    private static partial Regex OpenSshVersion();
}
