/** ServiceCreate / ServiceUpdate: the swarm task template gets the container checks. */
import { describe, expect, test } from 'vitest'
import { check, fixture, hits } from './helpers.js'

const spec = (containerSpec: string, taskTemplate = ''): string =>
  `{"Name":"web","TaskTemplate":{"ContainerSpec":{"Image":"busybox:latest"${containerSpec === '' ? '' : ','}${containerSpec}}${taskTemplate === '' ? '' : ','}${taskTemplate}}}`

describe('ServiceCreate / ServiceUpdate guard', () => {
  test.each([
    {
      name: 'docker service create --mount bind / --cap-add SYS_ADMIN --sysctl (CLI 28)',
      body: fixture('cli28/service-create.bind-root-cap-host-network.json'),
      expect: ['container.binds TaskTemplate.ContainerSpec.Mounts[0].Source', 'container.capabilities TaskTemplate.ContainerSpec.CapabilityAdd[0]', 'container.sysctls TaskTemplate.ContainerSpec.Sysctls["net.ipv4.ip_forward"]'],
    },
    { name: 'lower-case tasktemplate/containerspec/mounts', body: '{"tasktemplate":{"containerspec":{"image":"b","mounts":[{"type":"bind","source":"/etc","target":"/x"}]}}}', expect: ['container.binds TaskTemplate.ContainerSpec.Mounts[0].Source'] },
    { name: 'volume mount with local bind options', body: spec('"Mounts":[{"Type":"volume","Source":"vol","Target":"/x","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/"}}}}]'), expect: ['volume.options TaskTemplate.ContainerSpec.Mounts[0].VolumeOptions.DriverConfig.Options["type"]', 'volume.options TaskTemplate.ContainerSpec.Mounts[0].VolumeOptions.DriverConfig.Options["o"]', 'volume.options TaskTemplate.ContainerSpec.Mounts[0].VolumeOptions.DriverConfig.Options["device"]'] },
    { name: 'SELinuxContext.Disable', body: spec('"Privileges":{"SELinuxContext":{"Disable":true}}'), expect: ['container.security_opt TaskTemplate.ContainerSpec.Privileges.SELinuxContext.Disable'] },
    { name: 'SELinuxContext.Type spc_t', body: spec('"Privileges":{"SELinuxContext":{"Type":"spc_t"}}'), expect: ['container.security_opt TaskTemplate.ContainerSpec.Privileges.SELinuxContext.Type'] },
    { name: 'Seccomp unconfined', body: spec('"Privileges":{"Seccomp":{"Mode":"unconfined"}}'), expect: ['container.security_opt TaskTemplate.ContainerSpec.Privileges.Seccomp.Mode'] },
    { name: 'Seccomp custom', body: spec('"Privileges":{"Seccomp":{"Mode":"custom","Profile":"{}"}}'), expect: ['container.security_opt TaskTemplate.ContainerSpec.Privileges.Seccomp.Mode'] },
    { name: 'AppArmor disabled', body: spec('"Privileges":{"AppArmor":{"Mode":"disabled"}}'), expect: ['container.security_opt TaskTemplate.ContainerSpec.Privileges.AppArmor.Mode'] },
    { name: 'CredentialSpec', body: spec('"Privileges":{"CredentialSpec":{"File":"spec.json"}}'), expect: ['service.credential_spec TaskTemplate.ContainerSpec.Privileges.CredentialSpec'] },
    { name: 'CapabilityAdd ALL', body: spec('"CapabilityAdd":["ALL"]'), expect: ['container.capabilities TaskTemplate.ContainerSpec.CapabilityAdd[0]'] },
    { name: 'Groups 0', body: spec('"Groups":["0"]'), expect: ['container.group_add TaskTemplate.ContainerSpec.Groups[0]'] },
    { name: 'OomScoreAdj -1000', body: spec('"OomScoreAdj":-1000'), expect: ['container.oom_score_adj TaskTemplate.ContainerSpec.OomScoreAdj'] },
    { name: 'Ulimits', body: spec('"Ulimits":[{"Name":"memlock","Soft":-1,"Hard":-1}]'), expect: ['container.ulimits TaskTemplate.ContainerSpec.Ulimits[0].Name'] },
    { name: 'TaskTemplate.Networks target host (by name)', body: spec('', '"Networks":[{"Target":"host"}]'), expect: ['container.namespaces TaskTemplate.Networks[0].Target'] },
    { name: 'deprecated top-level Networks target host', body: '{"Name":"x","Networks":[{"Target":"HOST"}],"TaskTemplate":{"ContainerSpec":{"Image":"b"}}}', expect: ['container.namespaces Networks[0].Target'] },
    { name: 'plugin runtime', body: '{"TaskTemplate":{"Runtime":"plugin","PluginSpec":{"Name":"x","Remote":"vieux/sshfs:latest"}}}', expect: ['plugin.allow TaskTemplate.PluginSpec', 'plugin.allow TaskTemplate.PluginSpec'] },
    { name: 'PluginSpec without Runtime', body: '{"TaskTemplate":{"PluginSpec":{"Remote":"evil/plugin"}}}', expect: ['plugin.allow TaskTemplate.PluginSpec'] },
    { name: 'attachment runtime', body: '{"TaskTemplate":{"Runtime":"attachment","NetworkAttachmentSpec":{"ContainerID":"x"}}}', expect: ['service.runtime TaskTemplate.Runtime', 'service.runtime TaskTemplate.NetworkAttachmentSpec'] },
    { name: 'LogDriver splunk', body: spec('', '"LogDriver":{"Name":"splunk","Options":{"splunk-url":"http://10.0.0.1"}}'), expect: ['container.log_driver TaskTemplate.LogDriver.Name'] },
    { name: 'image outside the allowlist', body: spec(''), guards: { container: { images: ['ghcr.io/acme/**'] } }, expect: ['container.image TaskTemplate.ContainerSpec.Image'] },
    { name: 'Mounts as an object (wrong type)', body: spec('"Mounts":{"Type":"bind"}'), expect: ['container.mounts TaskTemplate.ContainerSpec.Mounts'] },
  ])('refuses $name', ({ body, guards, expect: want }) => {
    for (const op of ['ServiceCreate', 'ServiceUpdate']) {
      expect(hits(check(op, body, { params: { id: 'svc' }, ...(guards === undefined ? {} : { guards }) }))).toEqual(want)
    }
  })

  test.each([
    { name: 'docker service create --replicas 2 -p 8080:80 (CLI 28)', body: fixture('cli28/service-create.plain.json') },
    { name: 'volume and tmpfs mounts', body: spec('"Mounts":[{"Type":"volume","Source":"data","Target":"/data"},{"Type":"tmpfs","Target":"/run"}]') },
    { name: 'overlay network target by name', body: spec('', '"Networks":[{"Target":"backend","Aliases":["db"]}]') },
    { name: 'NoNewPrivileges and default seccomp/apparmor', body: spec('"Privileges":{"NoNewPrivileges":true,"Seccomp":{"Mode":"default"},"AppArmor":{"Mode":"default"}}') },
    { name: 'CapabilityAdd NET_BIND_SERVICE when allowed', body: spec('"CapabilityAdd":["CAP_NET_BIND_SERVICE"]'), guards: { container: { capabilities: ['NET_BIND_SERVICE'] } } },
    { name: 'a read-only bind when allowed', body: spec('"Mounts":[{"Type":"bind","Source":"/srv/data/x","Target":"/x","ReadOnly":true}]'), guards: { container: { binds: [{ path: '/srv/data/**', read_only: true }] } } },
    { name: 'plugin task when plugins are allowed', body: '{"TaskTemplate":{"Runtime":"plugin","PluginSpec":{"Remote":"vieux/sshfs:latest"}}}', guards: { plugins: { allow: ['vieux/sshfs:*'] } } },
    { name: 'Runtime container', body: spec('', '"Runtime":"container"') },
  ])('allows $name', ({ body, guards }) => {
    expect(check('ServiceCreate', body, guards === undefined ? {} : { guards })).toEqual([])
  })
})
