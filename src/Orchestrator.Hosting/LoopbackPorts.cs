using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Hosting;

/// <summary>Loopback ports for servers a process starts for itself (the dev profile's embedded Fly emulator).</summary>
public static class LoopbackPorts
{
    private const int Lowest = 10_000;

    /// <summary>
    /// A port free on <paramref name="address"/> (default 127.0.0.1) right now, below the kernel's
    /// ephemeral range where it can be had: a port from that range (what binding port 0 gives) can be
    /// taken by any process's outgoing connection before the server binds it, and other programs
    /// (test runs, builds) open many. Another process may still pick the same port; that is rare.
    /// </summary>
    public static int Reserve(IPAddress? address = null)
    {
        var below = EphemeralRangeStart();
        for (var attempt = 0; attempt < 50 && below > Lowest; attempt++)
        {
            var port = Random.Shared.Next(Lowest, below);
            try
            {
                using var probe = new TcpListener(address ?? IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
        }

        using var listener = new TcpListener(address ?? IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static int EphemeralRangeStart()
    {
        const string range = "/proc/sys/net/ipv4/ip_local_port_range";
        return File.Exists(range) && int.TryParse(File.ReadAllText(range).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0], out var start)
            ? start
            : 32_768;
    }
}
