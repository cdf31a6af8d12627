/**
 * ContainerCreate: every escalation path of engine-notes.md, written the way an attacker sends it,
 * and the near misses that must pass. Bodies go through the real decoder (helpers.check).
 */
import { describe, expect, test } from 'vitest'
import { BodyError, decodeBody } from '../../../src/body/gojson.js'
import { guardFor } from '../../../src/guards/index.js'
import { check, cliCreate, fixture, hits, SELF, type RunOptions } from './helpers.js'

interface Case {
  readonly name: string
  readonly body: string
  readonly options?: RunOptions
  /** `guard field` of every expected violation, in order. */
  readonly expect: readonly string[]
}

const img = (extra: string): string => `{"Image":"busybox"${extra === '' ? '' : ','}${extra}}`
const hc = (fields: string): string => img(`"HostConfig":{${fields}}`)

const escalations: Case[] = [
  // --- privileged, in every spelling the decoder lets through
  { name: 'docker run --privileged (CLI 28)', body: fixture('cli28/container-create.run-privileged.json'), expect: ['container.privileged HostConfig.Privileged'] },
  { name: 'lower-case hostconfig/privileged', body: img('"hostconfig":{"privileged":true}'), expect: ['container.privileged HostConfig.Privileged'] },
  { name: 'upper-case HOSTCONFIG/PRIVILEGED', body: img('"HOSTCONFIG":{"PRIVILEGED":true}'), expect: ['container.privileged HostConfig.Privileged'] },
  { name: '\\u0050rivileged escape', body: hc(String.raw`"\u0050rivileged":true`), expect: ['container.privileged HostConfig.Privileged'] },
  { name: 'Privileged as the string "true" (wrong type fails closed)', body: hc('"Privileged":"true"'), expect: ['container.privileged HostConfig.Privileged'] },
  { name: 'Privileged as 1 (wrong type fails closed)', body: hc('"Privileged":1'), expect: ['container.privileged HostConfig.Privileged'] },
  // --- legacy top-level HostConfig fields (ContainerConfigWrapper embeds HostConfig)
  { name: 'top-level Privileged without HostConfig', body: img('"Privileged":true'), expect: ['container.legacy_hostconfig Privileged'] },
  { name: 'top-level lower-case binds', body: img('"binds":["/etc:/x"]'), expect: ['container.legacy_hostconfig binds'] },
  { name: 'top-level VolumeDriver next to a HostConfig', body: img('"HostConfig":{},"VolumeDriver":"evil"'), expect: ['container.legacy_hostconfig VolumeDriver'] },
  { name: 'top-level Capabilities', body: img('"Capabilities":["CAP_SYS_ADMIN"]'), expect: ['container.legacy_hostconfig Capabilities'] },
  { name: 'top-level Privileged:false still refused (no second copy to guard)', body: img('"Privileged":false'), expect: ['container.legacy_hostconfig Privileged'] },
  // --- capabilities: every spelling moby's NormalizeLegacyCapabilities accepts
  { name: 'docker run --cap-add SYS_ADMIN (CLI 28)', body: fixture('cli28/container-create.run-cap-add-sys-admin.json'), expect: ['container.capabilities HostConfig.CapAdd[0]'] },
  { name: 'CapAdd cap_sys_admin', body: hc('"CapAdd":["cap_sys_admin"]'), expect: ['container.capabilities HostConfig.CapAdd[0]'] },
  { name: 'CapAdd Sys_Admin', body: hc('"CapAdd":["Sys_Admin"]'), expect: ['container.capabilities HostConfig.CapAdd[0]'] },
  { name: 'CapAdd ALL', body: hc('"CapAdd":["ALL"]'), expect: ['container.capabilities HostConfig.CapAdd[0]'] },
  { name: 'CapAdd all', body: hc('"CapAdd":["all"]'), expect: ['container.capabilities HostConfig.CapAdd[0]'] },
  { name: 'CapAdd CAP_ALL', body: hc('"CapAdd":["CAP_ALL"]'), expect: ['container.capabilities HostConfig.CapAdd[0]'] },
  { name: 'CapAdd with Unicode long s (Go upper-cases it to S)', body: hc('"CapAdd":["ſys_admin"]'), expect: ['container.capabilities HostConfig.CapAdd[0]'] },
  { name: 'CapAdd as a string (wrong type)', body: hc('"CapAdd":"SYS_ADMIN"'), expect: ['container.capabilities HostConfig.CapAdd'] },
  { name: 'CapAdd NET_BIND_SERVICE when not allowed', body: hc('"CapAdd":["NET_BIND_SERVICE"]'), expect: ['container.capabilities HostConfig.CapAdd[0]'] },
  { name: 'legacy HostConfig.Capabilities', body: hc('"Capabilities":["CAP_SYS_ADMIN","CAP_CHOWN"]'), expect: ['container.capabilities HostConfig.Capabilities[0]', 'container.capabilities HostConfig.Capabilities[1]'] },
  // --- host namespaces and joining other containers'
  { name: 'docker run --network host (CLI 28)', body: fixture('cli28/container-create.run-network-host.json'), expect: ['container.namespaces HostConfig.NetworkMode'] },
  { name: 'docker run --pid host (CLI 28)', body: fixture('cli28/container-create.run-pid-host.json'), expect: ['container.namespaces HostConfig.PidMode'] },
  { name: 'NetworkMode HOST', body: hc('"NetworkMode":"HOST"'), expect: ['container.namespaces HostConfig.NetworkMode'] },
  { name: 'NetworkMode container:<id>', body: hc('"NetworkMode":"container:abc123"'), expect: ['container.namespaces HostConfig.NetworkMode'] },
  { name: 'PidMode container:<id>', body: hc('"PidMode":"container:web"'), expect: ['container.namespaces HostConfig.PidMode'] },
  { name: 'IpcMode host', body: hc('"IpcMode":"host"'), expect: ['container.namespaces HostConfig.IpcMode'] },
  { name: 'IpcMode container:<id>', body: hc('"IpcMode":"container:web"'), expect: ['container.namespaces HostConfig.IpcMode'] },
  { name: 'utsmode host (lower-case key)', body: hc('"utsmode":"host"'), expect: ['container.namespaces HostConfig.UTSMode'] },
  { name: 'UsernsMode host', body: hc('"UsernsMode":"host"'), expect: ['container.namespaces HostConfig.UsernsMode'] },
  { name: 'CgroupnsMode host', body: hc('"CgroupnsMode":"host"'), expect: ['container.namespaces HostConfig.CgroupnsMode'] },
  { name: 'Cgroup container:<id>', body: hc('"Cgroup":"container:web"'), expect: ['container.namespaces HostConfig.Cgroup'] },
  { name: 'EndpointsConfig joins the host network', body: img('"NetworkingConfig":{"EndpointsConfig":{"host":{}}}'), expect: ['container.namespaces NetworkingConfig.EndpointsConfig["host"]'] },
  // --- host filesystem
  { name: 'docker run -v /:/host (CLI 28)', body: fixture('cli28/container-create.run-bind-root.json'), expect: ['container.binds HostConfig.Binds[0]'] },
  { name: 'Binds /etc read-only is still a host path', body: hc('"Binds":["/etc:/x:ro"]'), expect: ['container.binds HostConfig.Binds[0]'] },
  { name: 'Binds the docker socket', body: hc('"Binds":["/var/run/docker.sock:/var/run/docker.sock"]'), expect: ['container.binds HostConfig.Binds[0]'] },
  { name: 'Binds with .. out of an allowed tree', body: hc('"Binds":["/srv/data/../../etc:/x:ro"]'), options: { guards: { container: { binds: [{ path: '/srv/data/**' }] } } }, expect: ['container.binds HostConfig.Binds[0]'] },
  { name: 'Binds /srv/data/x without :ro when only read-only is allowed', body: hc('"Binds":["/srv/data/x:/x"]'), options: { guards: { container: { binds: [{ path: '/srv/data/**', read_only: true }] } } }, expect: ['container.binds HostConfig.Binds[0]'] },
  { name: 'Binds :ro,rw is not read-only', body: hc('"Binds":["/srv/data/x:/x:ro,rw"]'), options: { guards: { container: { binds: [{ path: '/srv/data/**', read_only: true }] } } }, expect: ['container.binds HostConfig.Binds[0]'] },
  { name: 'Binds outside the allowed tree', body: hc('"Binds":["/srv/database:/x:ro"]'), options: { guards: { container: { binds: [{ path: '/srv/data/**', read_only: true }] } } }, expect: ['container.binds HostConfig.Binds[0]'] },
  { name: 'Binds with a relative source', body: hc('"Binds":["./etc:/x"]'), expect: ['container.binds HostConfig.Binds[0]'] },
  { name: 'Binds with too many colons', body: hc('"Binds":["/etc:/x:ro:z"]'), expect: ['container.binds HostConfig.Binds[0]'] },
  { name: 'Binds as a string (wrong type)', body: hc('"Binds":"x"'), expect: ['container.binds HostConfig.Binds'] },
  { name: 'Binds item not a string', body: hc('"Binds":[{"Source":"/"}]'), expect: ['container.binds HostConfig.Binds[0]'] },
  { name: 'docker run --mount type=bind,readonly (CLI 28), not allowed', body: fixture('cli28/container-create.run-mount-bind-readonly.json'), expect: ['container.binds HostConfig.Mounts[0].Source'] },
  { name: 'Mounts bind read-only but non-recursive, read_only rule', body: hc('"Mounts":[{"Type":"bind","Source":"/srv/data/x","Target":"/x","ReadOnly":true,"BindOptions":{"ReadOnlyNonRecursive":true}}]'), options: { guards: { container: { binds: [{ path: '/srv/data/**', read_only: true }] } } }, expect: ['container.binds HostConfig.Mounts[0].Source'] },
  {
    name: 'docker run --mount type=volume with local bind options (CLI 28)',
    body: fixture('cli28/container-create.run-mount-volume-bind-opts.json'),
    expect: [
      'volume.options HostConfig.Mounts[0].VolumeOptions.DriverConfig.Options["type"]',
      'volume.options HostConfig.Mounts[0].VolumeOptions.DriverConfig.Options["o"]',
      'volume.options HostConfig.Mounts[0].VolumeOptions.DriverConfig.Options["device"]',
    ],
  },
  { name: 'Mounts volume with o=bind via the default driver', body: hc('"Mounts":[{"Type":"volume","Source":"vol","Target":"/x","VolumeOptions":{"DriverConfig":{"Options":{"type":"tmpfs","device":"tmpfs","o":"rbind"}}}}]'), expect: ['volume.options HostConfig.Mounts[0].VolumeOptions.DriverConfig.Options["o"]'] },
  { name: 'Mounts volume with a third-party driver', body: hc('"Mounts":[{"Type":"volume","Source":"vol","Target":"/x","VolumeOptions":{"DriverConfig":{"Name":"vieux/sshfs"}}}]'), expect: ['volume.driver HostConfig.Mounts[0].VolumeOptions.DriverConfig.Name'] },
  { name: 'Mounts type npipe', body: hc('"Mounts":[{"Type":"npipe","Source":"/x","Target":"/x"}]'), expect: ['container.mounts HostConfig.Mounts[0].Type'] },
  { name: 'Mounts type cluster', body: hc('"Mounts":[{"Type":"cluster","Source":"vol","Target":"/x"}]'), expect: ['container.mounts HostConfig.Mounts[0].Type'] },
  { name: 'Mounts type BIND (engine types are exact)', body: hc('"Mounts":[{"Type":"BIND","Source":"/","Target":"/x"}]'), expect: ['container.mounts HostConfig.Mounts[0].Type'] },
  { name: 'Mounts volume with a host path as its source', body: hc('"Mounts":[{"Type":"volume","Source":"/etc","Target":"/x"}]'), expect: ['container.mounts HostConfig.Mounts[0].Source'] },
  { name: 'Mounts without a type', body: hc('"Mounts":[{"Source":"/","Target":"/x"}]'), expect: ['container.mounts HostConfig.Mounts[0].Type'] },
  { name: 'lower-case mounts/type/source', body: hc('"mounts":[{"type":"bind","source":"/","target":"/x"}]'), expect: ['container.binds HostConfig.Mounts[0].Source'] },
  { name: 'Mounts tmpfs with a bind flag', body: hc('"Mounts":[{"Type":"tmpfs","Target":"/x","TmpfsOptions":{"Options":[["bind"]]}}]'), expect: ['container.tmpfs HostConfig.Mounts[0].TmpfsOptions.Options[0]'] },
  { name: 'Tmpfs map with rbind', body: hc('"Tmpfs":{"/run":"rw,rbind"}'), expect: ['container.tmpfs HostConfig.Tmpfs["/run"]'] },
  { name: 'VolumesFrom another container', body: hc('"VolumesFrom":["web:ro"]'), expect: ['container.volumes_from HostConfig.VolumesFrom[0]'] },
  { name: 'VolumeDriver plugin', body: hc('"VolumeDriver":"vieux/sshfs"'), expect: ['volume.driver HostConfig.VolumeDriver'] },
  // --- devices
  { name: 'docker run --device /dev/mem (CLI 28)', body: fixture('cli28/container-create.run-device-mem.json'), expect: ['container.devices HostConfig.Devices[0].PathOnHost'] },
  { name: 'DeviceCgroupRules a *:* rwm', body: hc('"DeviceCgroupRules":["a *:* rwm"]'), expect: ['container.device_cgroup_rules HostConfig.DeviceCgroupRules[0]'] },
  { name: 'docker run --gpus all (CLI 28)', body: fixture('cli28/container-create.run-gpus-all.json'), expect: ['container.device_requests HostConfig.DeviceRequests[0]'] },
  { name: 'Devices as a string (wrong type)', body: hc('"Devices":"/dev/mem"'), expect: ['container.devices HostConfig.Devices'] },
  // --- confinement
  { name: 'docker run --security-opt seccomp=unconfined (CLI 28)', body: fixture('cli28/container-create.run-seccomp-unconfined.json'), expect: ['container.security_opt HostConfig.SecurityOpt[0]'] },
  { name: 'seccomp:unconfined (legacy colon)', body: hc('"SecurityOpt":["seccomp:unconfined"]'), expect: ['container.security_opt HostConfig.SecurityOpt[0]'] },
  { name: 'seccomp inline profile', body: hc(String.raw`"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"]`), expect: ['container.security_opt HostConfig.SecurityOpt[0]'] },
  { name: 'apparmor=unconfined', body: hc('"SecurityOpt":["apparmor=unconfined"]'), expect: ['container.security_opt HostConfig.SecurityOpt[0]'] },
  { name: 'apparmor:unconfined', body: hc('"SecurityOpt":["apparmor:unconfined"]'), expect: ['container.security_opt HostConfig.SecurityOpt[0]'] },
  { name: 'label=disable', body: hc('"SecurityOpt":["label=disable"]'), expect: ['container.security_opt HostConfig.SecurityOpt[0]'] },
  { name: 'label:disable', body: hc('"SecurityOpt":["label:disable"]'), expect: ['container.security_opt HostConfig.SecurityOpt[0]'] },
  { name: 'bare disable', body: hc('"SecurityOpt":["disable"]'), expect: ['container.security_opt HostConfig.SecurityOpt[0]'] },
  { name: 'label=type:spc_t', body: hc('"SecurityOpt":["label=type:spc_t"]'), expect: ['container.security_opt HostConfig.SecurityOpt[0]'] },
  { name: 'systempaths=unconfined', body: hc('"SecurityOpt":["systempaths=unconfined"]'), expect: ['container.security_opt HostConfig.SecurityOpt[0]'] },
  { name: 'no-new-privileges=false', body: hc('"SecurityOpt":["no-new-privileges=false"]'), expect: ['container.security_opt HostConfig.SecurityOpt[0]'] },
  { name: 'no-new-privileges:0', body: hc('"SecurityOpt":["no-new-privileges:0"]'), expect: ['container.security_opt HostConfig.SecurityOpt[0]'] },
  { name: 'writable-cgroups=true', body: hc('"SecurityOpt":["writable-cgroups=true"]'), expect: ['container.security_opt HostConfig.SecurityOpt[0]'] },
  { name: 'unknown option spelled in capitals', body: hc('"SecurityOpt":["SECCOMP=unconfined"]'), expect: ['container.security_opt HostConfig.SecurityOpt[0]'] },
  { name: 'docker run --security-opt systempaths=unconfined (CLI 28: empty MaskedPaths/ReadonlyPaths)', body: fixture('cli28/container-create.run-systempaths-unconfined.json'), expect: ['container.system_paths HostConfig.MaskedPaths', 'container.system_paths HostConfig.ReadonlyPaths'] },
  { name: 'MaskedPaths with fewer paths', body: hc('"MaskedPaths":["/proc/asound"]'), expect: ['container.system_paths HostConfig.MaskedPaths'] },
  // --- kernel knobs
  {
    name: 'docker run --sysctl --group-add 0 --cgroup-parent --runtime (CLI 28)',
    body: fixture('cli28/container-create.run-sysctl-groupadd-cgroupparent-runtime.json'),
    expect: ['container.sysctls HostConfig.Sysctls["net.ipv4.ip_forward"]', 'container.group_add HostConfig.GroupAdd[0]', 'container.cgroup_parent HostConfig.CgroupParent', 'container.runtime HostConfig.Runtime'],
  },
  { name: 'GroupAdd 00 is group 0 too', body: hc('"GroupAdd":["00"]'), options: { guards: { container: { group_add: ['1000'] } } }, expect: ['container.group_add HostConfig.GroupAdd[0]'] },
  { name: 'Sysctls in slash form', body: hc('"Sysctls":{"net/ipv4/ip_forward":"1"}'), options: { guards: { container: { sysctls: ['net.ipv4.*'] } } }, expect: ['container.sysctls HostConfig.Sysctls["net/ipv4/ip_forward"]'] },
  {
    name: 'docker run --ulimit --pids-limit -1 --oom-score-adj -500 (CLI 28)',
    body: fixture('cli28/container-create.run-ulimit-pids-oom.json'),
    expect: ['container.oom_score_adj HostConfig.OomScoreAdj', 'container.ulimits HostConfig.Ulimits[0].Name', 'container.pids_limit HostConfig.PidsLimit'],
  },
  { name: 'OomKillDisable', body: hc('"OomKillDisable":true'), expect: ['container.oom_kill_disable HostConfig.OomKillDisable'] },
  { name: 'OomScoreAdj as a float', body: hc('"OomScoreAdj":-1.5'), expect: ['container.oom_score_adj HostConfig.OomScoreAdj'] },
  { name: 'kata annotations', body: hc('"Annotations":{"io.katacontainers.config.hypervisor.path":"/tmp/x"}'), expect: ['container.annotations HostConfig.Annotations["io.katacontainers.config.hypervisor.path"]'] },
  { name: 'LogConfig syslog to an address the client picks', body: hc('"LogConfig":{"Type":"syslog","Config":{"syslog-address":"tcp://169.254.169.254:80"}}'), expect: ['container.log_driver HostConfig.LogConfig.Type'] },
  { name: 'LogConfig awslogs (daemon credentials)', body: hc('"logconfig":{"type":"awslogs"}'), expect: ['container.log_driver HostConfig.LogConfig.Type'] },
  // --- images
  { name: 'image outside the allowlist', body: '{"Image":"alpine"}', options: { guards: { container: { images: ['busybox:*'] } } }, expect: ['container.image Image'] },
  { name: 'image id with an allowlist', body: `{"Image":"sha256:${'ab'.repeat(32)}"}`, options: { guards: { container: { images: ['busybox:*'] } } }, expect: ['container.image Image'] },
  { name: 'untagged hex name (id-prefix search) with an allowlist', body: '{"Image":"deadbeef"}', options: { guards: { container: { images: ['*'] } } }, expect: ['container.image Image'] },
  { name: 'image mount outside the allowlist', body: hc('"Mounts":[{"Type":"image","Source":"alpine","Target":"/x"}]'), options: { guards: { container: { images: ['busybox:*'] } } }, expect: ['container.image HostConfig.Mounts[0].Source'] },
  // --- dockgate's own container
  { name: 'NetworkMode container:dockgate', body: hc('"NetworkMode":"container:dockgate"'), options: { self: SELF, guards: { container: { namespaces: { network: ['container:*'] } } } }, expect: ['self HostConfig.NetworkMode'] },
  { name: 'PidMode container:<short id of dockgate>', body: hc('"PidMode":"container:4f3c2b"'), options: { self: SELF, guards: { container: { namespaces: { pid: ['container:*'] } } } }, expect: ['self HostConfig.PidMode'] },
  { name: 'VolumesFrom /dockgate', body: hc('"VolumesFrom":["/dockgate:ro"]'), options: { self: SELF, guards: { container: { volumes_from: ['*'] } } }, expect: ['self HostConfig.VolumesFrom[0]'] },
  { name: 'Links to dockgate', body: hc('"Links":["dockgate:db"]'), options: { self: SELF }, expect: ['self HostConfig.Links[0]'] },
  // --- shape of the body itself
  { name: 'HostConfig as a string', body: img('"HostConfig":"privileged"'), expect: ['container.body HostConfig'] },
  { name: 'body is an array', body: '[{"Image":"busybox"}]', expect: ['container.body body'] },
  {
    name: 'every violation is reported, not just the first',
    body: hc('"Privileged":true,"CapAdd":["SYS_ADMIN"],"Binds":["/:/host"],"PidMode":"host"'),
    expect: ['container.privileged HostConfig.Privileged', 'container.capabilities HostConfig.CapAdd[0]', 'container.namespaces HostConfig.PidMode', 'container.binds HostConfig.Binds[0]'],
  },
]

const nearMisses: Case[] = [
  { name: 'docker run --rm busybox echo hi (CLI 28, API 1.50)', body: fixture('cli28/container-create.run-plain.json'), expect: [] },
  { name: 'docker run --rm busybox echo hi (CLI 28, API 1.41)', body: fixture('cli28/container-create.run-plain.api141.json'), expect: [] },
  { name: 'named volume, tmpfs, ports, env, labels, restart (CLI 28)', body: fixture('cli28/container-create.run-web-named-volume-tmpfs.json'), expect: [] },
  { name: 'anonymous volume', body: hc('"Binds":["/data"]'), expect: [] },
  { name: 'named volume with mode', body: hc('"Binds":["data:/data:ro,z"]'), expect: [] },
  { name: 'Mounts named volume without driver options', body: hc('"Mounts":[{"Type":"volume","Source":"data","Target":"/data"}]'), expect: [] },
  { name: 'Mounts volume with the local driver and no options', body: hc('"Mounts":[{"Type":"volume","Source":"data","Target":"/data","VolumeOptions":{"NoCopy":true,"DriverConfig":{"Name":"local"}}}]'), expect: [] },
  { name: 'Mounts volume with local tmpfs options', body: hc('"Mounts":[{"Type":"volume","Target":"/x","VolumeOptions":{"DriverConfig":{"Options":{"type":"tmpfs","device":"tmpfs","o":"size=64m,uid=1000"}}}}]'), expect: [] },
  { name: 'Mounts tmpfs', body: hc('"Mounts":[{"Type":"tmpfs","Target":"/run","TmpfsOptions":{"SizeBytes":65536,"Mode":493,"Options":[["noexec"],["nr_inodes","1k"]]}}]'), expect: [] },
  { name: 'CapDrop ALL', body: hc('"CapDrop":["ALL"]'), expect: [] },
  { name: 'CapAdd NET_BIND_SERVICE when allowed', body: hc('"CapAdd":["NET_BIND_SERVICE"]'), options: { guards: { container: { capabilities: ['NET_BIND_SERVICE'] } } }, expect: [] },
  { name: 'CapAdd cap_net_bind_service when CAP_NET_BIND_SERVICE is allowed', body: hc('"CapAdd":["cap_net_bind_service"]'), options: { guards: { container: { capabilities: ['CAP_NET_BIND_SERVICE'] } } }, expect: [] },
  { name: 'docker run -v /srv/data/x:/x:ro when read-only is allowed (CLI 28)', body: fixture('cli28/container-create.run-bind-ro.json'), options: { guards: { container: { binds: [{ path: '/srv/data/**', read_only: true }] } } }, expect: [] },
  { name: 'docker run --mount type=bind,readonly when read-only is allowed (CLI 28)', body: fixture('cli28/container-create.run-mount-bind-readonly.json'), options: { guards: { container: { binds: [{ path: '/srv/data/', read_only: true }, { path: '/srv/data/**', read_only: true }] } } }, expect: [] },
  { name: 'bind with // and ./ segments normalised', body: hc('"Binds":["/srv//data/./x/:/x:ro"]'), options: { guards: { container: { binds: [{ path: '/srv/data/**', read_only: true }] } } }, expect: [] },
  { name: 'read-write bind when a read-write rule matches', body: hc('"Binds":["/srv/data/x:/x"]'), options: { guards: { container: { binds: [{ path: '/srv/data/**' }] } } }, expect: [] },
  { name: 'NetworkMode none, IpcMode shareable, CgroupnsMode private', body: hc('"NetworkMode":"none","IpcMode":"shareable","CgroupnsMode":"private","UsernsMode":""'), expect: [] },
  { name: 'NetworkMode a user network', body: img('"HostConfig":{"NetworkMode":"backend"},"NetworkingConfig":{"EndpointsConfig":{"backend":{"Aliases":["db"]}}}'), expect: [] },
  { name: 'NetworkMode host when allowed', body: fixture('cli28/container-create.run-network-host.json'), options: { guards: { container: { namespaces: { network: ['host'] } } } }, expect: [] },
  { name: 'no-new-privileges, seccomp=builtin, apparmor=docker-default', body: hc('"SecurityOpt":["no-new-privileges","no-new-privileges:true","seccomp=builtin","apparmor=docker-default"]'), expect: [] },
  { name: 'seccomp=unconfined when security_opt lists seccomp:unconfined', body: fixture('cli28/container-create.run-seccomp-unconfined.json'), options: { guards: { container: { security_opt: ['seccomp:unconfined'] } } }, expect: [] },
  { name: 'systempaths when allowed', body: fixture('cli28/container-create.run-systempaths-unconfined.json'), options: { guards: { container: { security_opt: ['systempaths=unconfined'] } } }, expect: [] },
  { name: 'allowed sysctl', body: hc('"Sysctls":{"net.ipv4.ip_unprivileged_port_start":"0"}'), options: { guards: { container: { sysctls: ['net.ipv4.*'] } } }, expect: [] },
  { name: 'ExtraHosts, Init, Dns, Isolation, ShmSize, Memory', body: hc('"ExtraHosts":["db:10.0.0.2"],"Init":true,"Dns":["10.0.0.1"],"Isolation":"default","ShmSize":67108864,"Memory":1073741824'), expect: [] },
  { name: 'Labels that differ only in case (a Go map)', body: img('"Labels":{"a":"1","A":"2"}'), expect: [] },
  { name: 'OomScoreAdj 500, PidsLimit 100, PidsLimit 0', body: hc('"OomScoreAdj":500,"PidsLimit":100'), expect: [] },
  { name: 'Runtime runc', body: hc('"Runtime":"runc"'), expect: [] },
  { name: 'LogConfig json-file with options', body: hc('"LogConfig":{"Type":"json-file","Config":{"max-size":"10m","max-file":"3"}}'), expect: [] },
  { name: 'LogConfig gelf when allowed', body: hc('"LogConfig":{"Type":"gelf","Config":{"gelf-address":"udp://logs:12201"}}'), options: { guards: { container: { log_drivers: ['json-file', 'gelf'] } } }, expect: [] },
  { name: 'image in the allowlist, familiar and full spellings', body: '{"Image":"docker.io/library/busybox:1.36"}', options: { guards: { container: { images: ['busybox:*'] } } }, expect: [] },
  { name: 'untagged image in the allowlist', body: '{"Image":"busybox"}', options: { guards: { container: { images: ['busybox:*'] } } }, expect: [] },
  { name: 'NetworkMode container:<other> when allowed', body: hc('"NetworkMode":"container:sidecar-1"'), options: { self: SELF, guards: { container: { namespaces: { network: ['container:sidecar-*'] } } } }, expect: [] },
  { name: 'no body', body: '{}', expect: [] },
]

describe('ContainerCreate guard', () => {
  test.each(escalations)('refuses: $name', ({ body, options, expect: want }) => {
    expect(hits(check('ContainerCreate', body, options))).toEqual(want)
  })

  test.each(nearMisses)('allows: $name', ({ body, options }) => {
    expect(check('ContainerCreate', body, options)).toEqual([])
  })

  test('a violation names the field and the value as sent', () => {
    expect(check('ContainerCreate', hc('"privileged":true'))).toEqual([
      { guard: 'container.privileged', field: 'HostConfig.Privileged', value: 'true', detail: 'needs guards.container.privileged' },
    ])
    const [bind] = check('ContainerCreate', hc('"Binds":["/etc:/x"]'))
    expect(bind).toMatchObject({ guard: 'container.binds', field: 'HostConfig.Binds[0]', value: '"/etc:/x"' })
    expect(bind?.detail).toBe('mounts host path /etc, which is not in guards.container.binds')
  })

  test('a huge value is shortened in the violation', () => {
    const profile = JSON.stringify(`seccomp=${JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: Array(500).fill({ names: ['read'] }) })}`)
    const [v] = check('ContainerCreate', hc(`"SecurityOpt":[${profile}]`))
    expect(v?.value.length).toBeLessThanOrEqual(120)
  })
})

describe('ContainerCreate bodies the decoder refuses before any guard runs', () => {
  const shape = guardFor('ContainerCreate')?.shape
  test.each([
    { name: 'Bindſ (U+017F folds to Binds in Go)', body: hc('"Bindſ":["/:/host"]') },
    { name: 'NetworKMode with U+212A Kelvin sign', body: hc('"Networ\u212AMode":"host"') },
    { name: 'escaped \\u017f in a key decodes to a non-ASCII key', body: hc(String.raw`"Bind\u017f":["/:/host"]`) },
    { name: 'repeated HostConfig (Go merges)', body: '{"Image":"b","HostConfig":{"Privileged":true},"HostConfig":{"Binds":[]}}' },
    { name: 'Binds and BINDS (Go: last wins)', body: hc('"Binds":["/etc:/a"],"BINDS":["/root:/b"]') },
    { name: 'trailing data', body: `${hc('')} {"HostConfig":{"Privileged":true}}` },
  ])('$name', ({ body }) => {
    expect(shape).toBeDefined()
    expect(() => decodeBody(Buffer.from(body, 'utf8'), shape!)).toThrow(BodyError)
  })
})

describe('cliCreate helper', () => {
  test('builds on the real CLI body', () => {
    expect(hits(check('ContainerCreate', cliCreate({ Privileged: true })))).toEqual(['container.privileged HostConfig.Privileged'])
  })
})
