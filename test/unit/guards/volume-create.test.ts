/** VolumeCreate: local-driver bind options, driver allowlist. */
import { describe, expect, test } from 'vitest'
import { check, fixture, hits } from './helpers.js'

describe('VolumeCreate guard', () => {
  test.each([
    {
      name: 'docker volume create --opt type=none --opt o=bind --opt device=/ (CLI 28)',
      body: fixture('cli28/volume-create.local-bind-root.json'),
      expect: ['volume.options DriverOpts["type"]', 'volume.options DriverOpts["o"]', 'volume.options DriverOpts["device"]'],
    },
    { name: 'o=bind alone with a tmpfs type', body: '{"DriverOpts":{"type":"tmpfs","device":"tmpfs","o":"size=1m,bind"}}', expect: ['volume.options DriverOpts["o"]'] },
    { name: 'o=rbind', body: '{"DriverOpts":{"type":"tmpfs","device":"tmpfs","o":"rbind"}}', expect: ['volume.options DriverOpts["o"]'] },
    { name: 'o= BIND with spaces and capitals', body: '{"DriverOpts":{"type":"tmpfs","device":"tmpfs","o":"rw, BIND"}}', expect: ['volume.options DriverOpts["o"]'] },
    { name: 'a host block device', body: '{"DriverOpts":{"type":"ext4","device":"/dev/sda1"}}', expect: ['volume.options DriverOpts["device"]', 'volume.options DriverOpts["type"]'] },
    { name: 'overlay with host lowerdir', body: '{"DriverOpts":{"type":"overlay","device":"overlay","o":"lowerdir=/,upperdir=/tmp/u,workdir=/tmp/w"}}', expect: ['volume.options DriverOpts["o"]', 'volume.options DriverOpts["o"]', 'volume.options DriverOpts["o"]', 'volume.options DriverOpts["type"]'] },
    { name: 'nfs when local_types does not list it', body: '{"DriverOpts":{"type":"nfs","o":"addr=10.0.0.1","device":":/export"}}', expect: ['volume.options DriverOpts["type"]'] },
    { name: 'an option the local driver does not have', body: '{"DriverOpts":{"type":"tmpfs","device":"tmpfs","mountpoint":"/"}}', expect: ['volume.options DriverOpts["mountpoint"]'] },
    { name: 'options without a type', body: '{"DriverOpts":{"device":"tmpfs","o":"size=1m"}}', expect: ['volume.options DriverOpts["type"]'] },
    { name: 'driver explicitly local in capitals is not local', body: '{"Driver":"LOCAL","DriverOpts":{"type":"none","o":"bind","device":"/"}}', expect: ['volume.driver Driver'] },
    { name: 'a plugin driver', body: '{"Name":"x","Driver":"vieux/sshfs","DriverOpts":{"sshcmd":"user@host:/"}}', expect: ['volume.driver Driver'] },
    { name: 'driveropts as a list (wrong type)', body: '{"driveropts":["type=none"]}', expect: ['volume.options DriverOpts'] },
    { name: 'an option value that is not a string', body: '{"DriverOpts":{"type":"tmpfs","device":"tmpfs","o":1}}', expect: ['volume.options DriverOpts["o"]'] },
  ])('refuses $name', ({ body, expect: want }) => {
    expect(hits(check('VolumeCreate', body))).toEqual(want)
  })

  test.each([
    { name: 'a plain named volume', body: '{"Name":"data"}' },
    { name: 'docker volume create --opt type=tmpfs --opt o=size=100m,uid=1000 (CLI 28)', body: fixture('cli28/volume-create.tmpfs-size.json') },
    { name: 'o=bindable is not o=bind', body: '{"Driver":"local","DriverOpts":{"type":"tmpfs","device":"tmpfs","o":"bindable,size=1m"}}' },
    { name: 'nfs when local_types lists it', body: '{"DriverOpts":{"type":"nfs","o":"addr=10.0.0.1,rw","device":":/export"}}', guards: { volumes: { local_types: ['tmpfs', 'nfs'] } } },
    { name: 'bind options when bind_options is true', body: fixture('cli28/volume-create.local-bind-root.json'), guards: { volumes: { bind_options: true } } },
    { name: 'an allowed plugin driver with its own options', body: '{"Driver":"vieux/sshfs","DriverOpts":{"sshcmd":"user@host:/"}}', guards: { volumes: { drivers: ['local', 'vieux/sshfs'] } } },
    { name: 'labels that differ only in case', body: '{"Name":"x","Labels":{"a":"1","A":"2"}}' },
  ])('allows $name', ({ body, guards }) => {
    expect(check('VolumeCreate', body, guards === undefined ? {} : { guards })).toEqual([])
  })
})
