using System.Net;
using Orchestrator.Grains.Runs;

namespace Orchestrator.Grains.Tests;

/// <summary>What an <c>http.check</c> may connect to, address by address; the end-to-end refusals are in the integration tests.</summary>
public sealed class HttpCheckAddressTests
{
    [Theory]
    [InlineData("127.0.0.1", "a loopback address")]
    [InlineData("127.77.3.4", "a loopback address")]
    [InlineData("::1", "a loopback address")]
    [InlineData("::ffff:127.0.0.1", "a loopback address")]
    [InlineData("10.1.2.3", "a private address (RFC 1918)")]
    [InlineData("172.16.0.1", "a private address (RFC 1918)")]
    [InlineData("172.31.255.254", "a private address (RFC 1918)")]
    [InlineData("192.168.1.1", "a private address (RFC 1918)")]
    [InlineData("::ffff:10.0.0.1", "a private address (RFC 1918)")]
    [InlineData("fdaa:0:3ec2:a7b:5bd4:9fa:e7b7:2", "a private address (unique local fc00::/7, Fly's 6PN private network fdaa::/16 included)")]
    [InlineData("fc00::1", "a private address (unique local fc00::/7, Fly's 6PN private network fdaa::/16 included)")]
    [InlineData("169.254.169.254", "a link-local address (169.254.0.0/16, where cloud metadata services answer)")]
    [InlineData("fe80::1", "a link-local address")]
    [InlineData("0.0.0.0", "an unspecified address (0.0.0.0/8)")]
    [InlineData("::", "an unspecified address (::)")]
    [InlineData("100.64.0.1", "a carrier-grade NAT address (100.64.0.0/10)")]
    [InlineData("100.127.255.255", "a carrier-grade NAT address (100.64.0.0/10)")]
    [InlineData("224.0.0.1", "a multicast address")]
    [InlineData("ff02::1", "a multicast address")]
    [InlineData("255.255.255.255", "a reserved address (240.0.0.0/4, broadcast included)")]
    [InlineData("192.0.2.10", "a reserved address (documentation)")]
    [InlineData("2001:db8::1", "a reserved address (documentation)")]
    [InlineData("198.18.0.1", "a reserved address (benchmarking)")]
    [InlineData("64:ff9b::a00:1", "a NAT64 address of 10.0.0.1, a private address (RFC 1918)")]
    [InlineData("::127.0.0.1", "not a global unicast address (2000::/3)")]
    [InlineData("2002:a00:1::1", "a 6to4 address (it embeds an IPv4 address)")]
    public void NonPublicAddressesAreNamed(string address, string expected)
    {
        Assert.Equal(expected, NonPublicAddresses.Classify(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("1.1.1.1")]
    [InlineData("8.8.8.8")]
    [InlineData("100.63.255.255")]
    [InlineData("100.128.0.1")]
    [InlineData("172.32.0.1")]
    [InlineData("2a09:8280:1::1")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("64:ff9b::808:808")]
    [InlineData("::ffff:8.8.8.8")]
    public void PublicAddressesPass(string address)
    {
        Assert.Null(NonPublicAddresses.Classify(IPAddress.Parse(address)));
    }

    [Fact]
    public async Task TheTenantsOwnInstancesAndTheAllowedNetworksPassAndNothingElseThatIsNotPublic()
    {
        var lookups = 0;
        var policy = new HttpCheckAddressPolicy(
            [IPNetwork.Parse("192.168.50.0/24")],
            () =>
            {
                lookups++;
                return Task.FromResult<IReadOnlySet<IPAddress>>(new HashSet<IPAddress> { IPAddress.Parse("127.77.1.2"), IPAddress.Parse("fdaa:0:1::2") });
            });

        Assert.Null(await policy.RefusalAsync(IPAddress.Parse("8.8.8.8")));
        Assert.Equal(0, lookups);
        Assert.Null(await policy.RefusalAsync(IPAddress.Parse("192.168.50.7")));
        Assert.Equal(0, lookups);
        Assert.Null(await policy.RefusalAsync(IPAddress.Parse("127.77.1.2")));
        Assert.Null(await policy.RefusalAsync(IPAddress.Parse("::ffff:127.77.1.2")));
        Assert.Null(await policy.RefusalAsync(IPAddress.Parse("fdaa:0:1::2")));
        Assert.Equal("a private address (unique local fc00::/7, Fly's 6PN private network fdaa::/16 included)", await policy.RefusalAsync(IPAddress.Parse("fdaa:0:1::3")));
        Assert.Equal("a loopback address", await policy.RefusalAsync(IPAddress.Parse("127.77.1.3")));
        Assert.Equal("a private address (RFC 1918)", await policy.RefusalAsync(IPAddress.Parse("192.168.51.7")));
        Assert.Equal(1, lookups);
    }

    [Fact]
    public void AllowedNetworksMustBeCidrNetworks()
    {
        var options = new WorkflowOptions();
        options.HttpCheck.AllowedNetworks.AddRange(["127.0.0.0/8", "fdaa::/16", "10.0.0.1/8", "localhost", "10.0.0.0/33"]);

        var result = new WorkflowOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Equal(
            [
                "Orchestrator:Workflows:HttpCheck:AllowedNetworks:2 '10.0.0.1/8' is not a network in CIDR notation such as 10.0.0.0/8 or fdaa::/16 (no address bits may be set past the prefix length)",
                "Orchestrator:Workflows:HttpCheck:AllowedNetworks:3 'localhost' is not a network in CIDR notation such as 10.0.0.0/8 or fdaa::/16 (no address bits may be set past the prefix length)",
                "Orchestrator:Workflows:HttpCheck:AllowedNetworks:4 '10.0.0.0/33' is not a network in CIDR notation such as 10.0.0.0/8 or fdaa::/16 (no address bits may be set past the prefix length)",
            ],
            result.Failures);
        Assert.True(new WorkflowOptionsValidator().Validate(null, new WorkflowOptions()).Succeeded);
    }
}
