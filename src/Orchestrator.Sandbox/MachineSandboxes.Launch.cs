using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;

namespace Orchestrator.Sandbox;

/// <summary>The sshd launcher: prepares a machine's root and config, starts its sshd and waits until it accepts connections.</summary>
public sealed partial class MachineSandboxes
{
    // Carried by every session without bubblewrap, so that stop finds commands that detached
    // from sshd's process tree (nohup ... &).
    private const string MarkerVariable = "ORCHESTRATOR_SANDBOX";
    private const int OutputCapacity = 200;

    [SupportedOSPlatform("linux")]
    private async Task<MachineSandbox> LaunchAsync(SandboxSpec spec, IReadOnlyList<ResolvedMount> mounts, HostSetup setup, CancellationToken cancellationToken)
    {
        var layout = new MachineLayout(_dataDirectory, spec.MachineId);
        var isolated = setup.Bubblewrap is not null;
        PrepareDirectories(layout, mounts, isolated, spec.KeepRoot);
        if (!isolated && FindWritableByOthers(layout.Root) is { } offender)
        {
            // Otherwise every login fails later with a bare "Permission denied (publickey)".
            throw new InvalidOperationException(
                $"Machine {spec.MachineId}: without bubblewrap, sshd's StrictModes rejects authorized_keys under {layout.Root} because {offender} is group- or world-writable; choose a DataDirectory elsewhere (e.g. under /var/lib or /run).");
        }

        // Written before any process exists, so a reaper never sees a machine without an owner.
        new SandboxRecord(setup.Self, null, null).Write(layout.Record);
        var hostPublicKey = await SandboxHostKey.EnsureAsync(spec, layout, setup.Keygen, _toolTimeout, cancellationToken).ConfigureAwait(false);
        await WriteFilesAsync(spec, layout, mounts, isolated, cancellationToken).ConfigureAwait(false);

        var marker = isolated ? null : $"{MarkerVariable}={spec.MachineId}.{Guid.NewGuid():N}";
        await File.WriteAllTextAsync(layout.Config, BuildConfig(spec, layout, setup, marker), cancellationToken).ConfigureAwait(false);

        var start = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        // sshd builds every session's environment itself; its own needs nothing of ours, and the
        // emulator's variables (tokens, connection strings) must not be readable in the machine.
        start.Environment.Clear();
        start.Environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        // -D: stay in the foreground so we own the PID; -e: log to stderr, which we capture.
        if (setup.Bubblewrap is { } bubblewrap)
        {
            start.FileName = bubblewrap;
            var hostname = HostnamePattern().IsMatch(spec.MachineId) ? spec.MachineId : null;
            foreach (var argument in Bubblewrap.Arguments(
                layout.Root, layout.Ssh, hostname, mounts, setup.IsRoot, [setup.Sshd, "-D", "-e", "-f", Bubblewrap.GuestSshDirectory + "/sshd_config"]))
            {
                start.ArgumentList.Add(argument);
            }
        }
        else
        {
            start.FileName = setup.Sshd;
            foreach (var argument in new[] { "-D", "-e", "-f", layout.Config })
            {
                start.ArgumentList.Add(argument);
            }
        }

        var output = new OutputLog(OutputCapacity);
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        MachineSandbox? sandbox = null;
        int? exitCode = null;
        process.Exited += (_, _) =>
        {
            // Read here: the process object is disposed once the machine is cleaned up.
            exitCode = process.ExitCode;
            exited.TrySetResult();
            if (sandbox is { Ready: true, Stopping: false } running)
            {
                _ = ReportUnexpectedExitAsync(running, exitCode);
            }
        };
        void OnLine(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is not { } line)
            {
                return;
            }

            output.Add(line);
            LogSshdOutput(spec.MachineId, line);
            if (line.StartsWith("Server listening on", StringComparison.Ordinal))
            {
                listening.TrySetResult();
            }
        }

        process.ErrorDataReceived += OnLine;
        process.OutputDataReceived += OnLine;
        try
        {
            await setup.Spawner.StartAsync(process).ConfigureAwait(false);
        }
        catch
        {
            process.Dispose();
            throw;
        }

        // No identity means it already died and was reaped; the readiness wait reports its output.
        var identity = ProcessIdentity.TryGet(process.Id) ?? new ProcessIdentity(process.Id, -1);
        new SandboxRecord(setup.Self, identity, marker).Write(layout.Record);
        process.StandardInput.Close();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        sandbox = new MachineSandbox(this, spec, _options.SshPort, layout, hostPublicKey, isolated, process, identity, marker, output, exited);

        string? failure;
        try
        {
            failure = await WaitUntilReadyAsync(spec.Address, listening.Task, exited.Task, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await TerminateAsync(sandbox).ConfigureAwait(false);
            throw;
        }

        if (failure is not null)
        {
            var exitedByItself = exited.Task.IsCompleted;
            // Terminate also drains the output, so the message below has sshd's last words.
            await TerminateAsync(sandbox).ConfigureAwait(false);
            throw new InvalidOperationException(
                StartFailureMessage(spec.MachineId, failure, start.FileName, exitedByItself ? exitCode : null, output.Snapshot()));
        }

        sandbox.Ready = true;
        if (exited.Task.IsCompleted && !sandbox.Stopping)
        {
            // Died between the readiness probe and now; the Exited handler saw it not yet ready.
            _ = ReportUnexpectedExitAsync(sandbox, exitCode);
        }

        LogStarted(spec.MachineId, spec.Address, _options.SshPort, identity.ProcessId, isolated);
        return sandbox;
    }

    /// <summary>Null once sshd accepts TCP connections at the machine's address, else why it did not.</summary>
    private async Task<string?> WaitUntilReadyAsync(IPAddress address, Task listening, Task exited, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.StartTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            // The "listening" line proves that our sshd, not a squatter, holds the port; the
            // probe then shows that it accepts connections.
            await Task.WhenAny(listening, exited).WaitAsync(linked.Token).ConfigureAwait(false);
            while (!exited.IsCompleted)
            {
                using var client = new TcpClient(address.AddressFamily);
                try
                {
                    await client.ConnectAsync(address, _options.SshPort, linked.Token).ConfigureAwait(false);
                    return null;
                }
                catch (SocketException)
                {
                    await Task.Delay(_pollInterval, _time, linked.Token).ConfigureAwait(false);
                }
            }

            return "sshd exited during start-up";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"sshd did not accept connections on {address}:{_options.SshPort} within {_options.StartTimeout.TotalSeconds:0.#} s";
        }
    }

    [SupportedOSPlatform("linux")]
    private string BuildConfig(SandboxSpec spec, MachineLayout layout, HostSetup setup, string? marker)
    {
        var environment = spec.Environment.OrderBy(variable => variable.Key, StringComparer.Ordinal).ToList();
        if (setup.Bubblewrap is not null)
        {
            return SshdConfig.Build(new SshdSettings(
                spec.MachineId, spec.Address, _options.SshPort, Bubblewrap.GuestSshDirectory + "/ssh_host_ed25519_key",
                AuthorizedKeysFile: null, ForceCommand: null, SftpSubsystem: "internal-sftp", environment, setup.DisablePerSourcePenalties));
        }

        // Without a private / the session script moves every session into the machine's home;
        // the marker and HOME come first because sshd keeps the first value of a name.
        var home = Path.Combine(layout.Root, "root");
        List<KeyValuePair<string, string>> ours =
        [
            new(MarkerVariable, marker![(MarkerVariable.Length + 1)..]),
            new("HOME", home),
        ];
        File.WriteAllText(layout.SessionScript, """
            # Written by Orchestrator.Sandbox: without bubblewrap, this keeps sessions in the machine's home.
            cd "$HOME" || exit 1
            if [ -n "$SSH_ORIGINAL_COMMAND" ]; then
                exec "$SHELL" -c "$SSH_ORIGINAL_COMMAND"
            fi
            exec "$SHELL" -l

            """);
        File.SetUnixFileMode(layout.SessionScript, Mode0755);
        if (layout.SessionScript.Contains('\'', StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"DataDirectory paths cannot contain a single quote without bubblewrap: {layout.SessionScript}");
        }

        return SshdConfig.Build(new SshdSettings(
            spec.MachineId, spec.Address, _options.SshPort, layout.HostKey,
            AuthorizedKeysFile: Path.Combine(home, ".ssh", "authorized_keys"),
            // ForceCommand also wraps the sftp subsystem, so it must be an external program.
            ForceCommand: $"/bin/sh '{layout.SessionScript}'",
            SftpSubsystem: setup.SftpServer ?? "internal-sftp",
            [.. ours, .. environment.Where(variable => !ours.Any(own => own.Key == variable.Key))],
            setup.DisablePerSourcePenalties));
    }

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex HostnamePattern();
}
