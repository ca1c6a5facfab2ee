using Orchestrator.Fly.Emulator.Api;

namespace Orchestrator.Fly.Emulator.Backend;

/// <summary>
/// Public IP assignments (the REST <c>ip_assignments</c> API). The emulator routes no public traffic;
/// it keeps the bookkeeping so that a client's allocate/list/release logic runs as against Fly.
/// </summary>
internal sealed partial class FlyBackend
{
    public Outcome<IpAssignmentListResponse> ListIps(string appName)
    {
        lock (_sync)
        {
            if (FindApp(appName, out var app) is { } failure)
            {
                return failure;
            }

            return new IpAssignmentListResponse(app.Ips.Select(ToView).ToList());
        }
    }

    public Outcome<IpAssignmentView> AssignIp(string appName, IpAssignmentRequest request)
    {
        if (string.IsNullOrEmpty(request.Type))
        {
            return FlyErrors.InvalidArgument("type is required");
        }

        if (request.Type is not ("v6" or "v4" or "shared_v4" or "private_v6"))
        {
            return FlyErrors.InvalidArgument($"type \"{request.Type}\" is not one of v6, v4, shared_v4, private_v6");
        }

        var region = string.IsNullOrEmpty(request.Region) ? "global" : request.Region;
        if (region != "global" && FlyRegions.Check(region) is { } badRegion)
        {
            return badRegion;
        }

        lock (_sync)
        {
            if (FindApp(appName, out var app) is { } failure)
            {
                return failure;
            }

            if (request.Type == "shared_v4" && app.Ips.Any(ip => ip.Type == "shared_v4"))
            {
                return FlyFailure.Error(409, "app already has a shared IPv4 address");
            }

            var suffix = NextIpSuffix();
            var number = _ipCounter;
            var address = request.Type switch
            {
                // Prefixes Fly's own addresses come from; nothing routes to them from here.
                "v6" => $"2a09:8280:1::{suffix}",
                "private_v6" => $"fdaa:0:{app.Id.GetHashCode(StringComparison.Ordinal) & 0xffff:x}::{suffix}",
                "v4" => $"137.66.{number / 250 % 250}.{(number % 250) + 1}",
                _ => $"66.241.124.{(number % 250) + 1}",
            };
            var record = new IpRecord(address, request.Type, region, request.ServiceName ?? "", request.Type == "shared_v4", _time.GetUtcNow());
            app.Ips.Add(record);
            return ToView(record);
        }
    }

    public FlyFailure? ReleaseIp(string appName, string ip)
    {
        lock (_sync)
        {
            if (FindApp(appName, out var app) is { } failure)
            {
                return failure;
            }

            return app.Ips.RemoveAll(r => r.Ip == ip) > 0 ? null : FlyFailure.Error(404, "ip assignment not found");
        }
    }

    private static IpAssignmentView ToView(IpRecord record) =>
        new(record.Ip, record.Region, record.ServiceName, record.Shared, FlyTime.Seconds(record.CreatedAt));
}
