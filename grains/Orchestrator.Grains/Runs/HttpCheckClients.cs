using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Options;

namespace Orchestrator.Grains.Runs;

/// <summary>
/// Makes the HTTP clients of <c>http.check</c> steps. A tenant names the URL, and the silo fetches it from inside
/// the private network every tenant's machines share, so a check may reach only public addresses, the private
/// addresses of the run's tenant's own instances, and the networks of <see cref="HttpCheckOptions.AllowedNetworks"/>.
/// </summary>
/// <remarks>
/// The rule is applied to the address the socket connects to, when it connects: for the URL and for every redirect,
/// after the one DNS lookup that is used, so a name that resolves to a public address when looked at and to a private
/// one when used (DNS rebinding) gains nothing. Each check gets a client of its own: a pooled connection opened for
/// one tenant's instance must not serve another tenant's request to the same address.
/// </remarks>
internal sealed class HttpCheckClients(IOptions<WorkflowOptions> options)
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    /// <param name="tenantAddresses">The private addresses of the tenant's instances; asked only for an address that is not public.</param>
    public HttpClient Create(Func<Task<IReadOnlySet<IPAddress>>> tenantAddresses)
    {
        var policy = new HttpCheckAddressPolicy(options.Value.HttpCheck.Networks(), tenantAddresses);
        var handler = new SocketsHttpHandler
        {
            // A proxy would make the connection to an address this policy never saw.
            UseProxy = false,
            ConnectCallback = policy.ConnectAsync,
            ConnectTimeout = RequestTimeout,
            MaxAutomaticRedirections = 10,
        };
        return new HttpClient(handler, disposeHandler: true) { Timeout = RequestTimeout };
    }
}

/// <summary>Which addresses one check may connect to; see <see cref="HttpCheckClients"/>.</summary>
internal sealed class HttpCheckAddressPolicy(IReadOnlyList<IPNetwork> allowedNetworks, Func<Task<IReadOnlySet<IPAddress>>> tenantAddresses)
{
    // Looked up once per check, when first needed, without the connect's token: a cancelled connect must not
    // leave the lookup cancelled for the check's next poll.
    private readonly Lazy<Task<IReadOnlySet<IPAddress>>> _tenantAddresses = new(tenantAddresses);

    /// <summary>Resolves the host, and connects to its first address the policy allows.</summary>
    /// <exception cref="HttpCheckRefusedException">No address of the host is allowed.</exception>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        var addresses = IPAddress.TryParse(literal, out var address)
            ? [address]
            : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        (IPAddress Address, string Reason)? refused = null;
        ExceptionDispatchInfo? failure = null;
        foreach (var candidate in addresses)
        {
            if (await RefusalAsync(candidate).ConfigureAwait(false) is { } reason)
            {
                refused ??= (candidate, reason);
                continue;
            }

            var socket = new Socket(candidate.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(candidate, context.DnsEndPoint.Port), cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                failure = ExceptionDispatchInfo.Capture(ex);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        failure?.Throw();
        var (at, why) = refused ?? throw new SocketException((int)SocketError.HostNotFound);
        throw new HttpCheckRefusedException(
            context.InitialRequestMessage.RequestUri,
            IPAddress.TryParse(literal, out _) ? $"{at} is {why}" : $"{host} resolves to {at}, {why}");
    }

    /// <summary>Null when the check may connect to <paramref name="address"/>; otherwise what kind of address it is.</summary>
    public async Task<string?> RefusalAsync(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (allowedNetworks.Any(n => n.Contains(address)) || NonPublicAddresses.Classify(address) is not { } reason)
        {
            return null;
        }

        return (await _tenantAddresses.Value.ConfigureAwait(false)).Contains(address) ? null : reason;
    }
}

/// <summary>The ranges an address must stay out of to count as public.</summary>
internal static class NonPublicAddresses
{
    private const string Private = "a private address (RFC 1918)";
    private const string Documentation = "a reserved address (documentation)";

    private static readonly (IPNetwork Network, string Reason)[] Ranges =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "an unspecified address (0.0.0.0/8)"),
        (IPNetwork.Parse("10.0.0.0/8"), Private),
        (IPNetwork.Parse("100.64.0.0/10"), "a carrier-grade NAT address (100.64.0.0/10)"),
        (IPNetwork.Parse("127.0.0.0/8"), "a loopback address"),
        (IPNetwork.Parse("169.254.0.0/16"), "a link-local address (169.254.0.0/16, where cloud metadata services answer)"),
        (IPNetwork.Parse("172.16.0.0/12"), Private),
        (IPNetwork.Parse("192.0.0.0/24"), "a reserved address (IETF protocol assignments)"),
        (IPNetwork.Parse("192.0.2.0/24"), Documentation),
        (IPNetwork.Parse("192.88.99.0/24"), "a reserved address (6to4 relay anycast)"),
        (IPNetwork.Parse("192.168.0.0/16"), Private),
        (IPNetwork.Parse("198.18.0.0/15"), "a reserved address (benchmarking)"),
        (IPNetwork.Parse("198.51.100.0/24"), Documentation),
        (IPNetwork.Parse("203.0.113.0/24"), Documentation),
        (IPNetwork.Parse("224.0.0.0/4"), "a multicast address"),
        (IPNetwork.Parse("240.0.0.0/4"), "a reserved address (240.0.0.0/4, broadcast included)"),
        (IPNetwork.Parse("::/128"), "an unspecified address (::)"),
        (IPNetwork.Parse("::1/128"), "a loopback address"),
        (IPNetwork.Parse("64:ff9b:1::/48"), "a reserved address (local-use NAT64)"),
        (IPNetwork.Parse("100::/64"), "a reserved address (discard prefix)"),
        (IPNetwork.Parse("2001::/32"), "a Teredo address"),
        (IPNetwork.Parse("2001:db8::/32"), Documentation),
        (IPNetwork.Parse("2002::/16"), "a 6to4 address (it embeds an IPv4 address)"),
        (IPNetwork.Parse("fc00::/7"), "a private address (unique local fc00::/7, Fly's 6PN private network fdaa::/16 included)"),
        (IPNetwork.Parse("fe80::/10"), "a link-local address"),
        (IPNetwork.Parse("fec0::/10"), "a site-local address"),
        (IPNetwork.Parse("ff00::/8"), "a multicast address"),
    ];

    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork GlobalUnicast = IPNetwork.Parse("2000::/3");

    /// <summary>Null for a public address; otherwise what kind of address it is, e.g. "a loopback address".</summary>
    public static string? Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var (network, reason) in Ranges)
        {
            if (network.Contains(address))
            {
                return reason;
            }
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return null;
        }

        if (Nat64.Contains(address))
        {
            // Translated to the IPv4 address in its last 32 bits, which must be public itself.
            var v4 = new IPAddress(address.GetAddressBytes()[12..]);
            return Classify(v4) is { } embedded ? $"a NAT64 address of {v4}, {embedded}" : null;
        }

        return GlobalUnicast.Contains(address) ? null : "not a global unicast address (2000::/3)";
    }
}

/// <summary>An <c>http.check</c> was about to connect to an address it may not reach.</summary>
internal sealed class HttpCheckRefusedException(Uri? url, string reason) : Exception($"{url} may not be checked: {reason}")
{
    public Uri? Url { get; } = url;

    public string Reason { get; } = reason;
}
