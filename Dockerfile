# syntax=docker/dockerfile:1
# One image for both roles: the silo (default) and the standalone gateway
# (`docker run ... dotnet Orchestrator.Gateway.dll`).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig Orchestrator.sln ./
COPY grains/ grains/
COPY src/ src/
COPY silo/ silo/
RUN dotnet publish silo/Orchestrator.Silo/Orchestrator.Silo.csproj -c Release -o /app/silo --nologo \
 && dotnet publish src/Orchestrator.Gateway/Orchestrator.Gateway.csproj -c Release -o /app/gateway --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# A fixed unprivileged user: the process needs no root for anything it does.
RUN groupadd --system --gid 10001 orchestrator \
 && useradd --system --uid 10001 --gid orchestrator --home-dir /app --shell /usr/sbin/nologin orchestrator
WORKDIR /app
COPY --from=build --chown=orchestrator:orchestrator /app/silo/ ./
COPY --from=build --chown=orchestrator:orchestrator /app/gateway/Orchestrator.Gateway.dll /app/gateway/Orchestrator.Gateway.deps.json /app/gateway/Orchestrator.Gateway.runtimeconfig.json ./
USER orchestrator
ENV DOTNET_gcServer=1
# 8080 HTTP (API, /health, /dashboard), 11111 silo-to-silo, 30000 Orleans client gateway.
EXPOSE 8080 11111 30000
ENTRYPOINT ["dotnet"]
CMD ["Orchestrator.Silo.dll"]
