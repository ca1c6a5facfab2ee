using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Fly.Emulator.Backend;

/// <summary>
/// Hands out one loopback address per machine in 127.77.0.0/16 (never 127.0.0.1). The walk starts
/// at a random point and skips any address whose SSH port something else already holds, so two
/// emulators on one host (parallel tests) do not hand their machines the same address.
/// </summary>
internal sealed class AddressPool(int sshPort)
{
    private const int Size = 256 * 256;
    private readonly int _start = Random.Shared.Next(Size);
    private readonly HashSet<int> _used = [];
    private int _next;

    public IPAddress Allocate()
    {
        for (var attempt = 0; attempt < Size; attempt++)
        {
            var offset = (_start + _next++) % Size;
            var (x, y) = (offset / 256, offset % 256);
            if (y is 0 or 255 || _used.Contains(offset))
            {
                continue;
            }

            var address = new IPAddress([127, 77, (byte)x, (byte)y]);
            if (IsFree(address))
            {
                _used.Add(offset);
                return address;
            }
        }

        throw new InvalidOperationException("No free loopback address left in 127.77.0.0/16.");
    }

    private bool IsFree(IPAddress address)
    {
        try
        {
            using var probe = new TcpListener(address, sshPort);
            probe.Start();
            probe.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
