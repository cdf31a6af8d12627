/**
 * Which positions of the guarded bodies are Go maps (keys are data, case-sensitive) rather than
 * structs (keys fold), for the decoder. Read from the Go types behind the Engine API spec
 * (`docker-engine-api/v1.56.yaml` definitions; a field typed `object` + `additionalProperties`
 * is a `map[string]X`). Positions left out are decoded as structs, the strict reading.
 */
import { arrayOf, mapOf, struct, type Shape } from '../body/shape.js'

const STRUCTS = arrayOf(struct())
const STRING_MAP = mapOf()

/** api/types/mount.Mount (HostConfig.Mounts, service ContainerSpec.Mounts). */
export const MOUNT: Shape = struct({
  BindOptions: struct(),
  VolumeOptions: struct({ Labels: STRING_MAP, DriverConfig: struct({ Options: STRING_MAP }) }),
  TmpfsOptions: struct(),
  ImageOptions: struct(),
})

const DEVICE_REQUEST = struct({ Options: STRING_MAP })

/** container.Resources fields that hold maps or structs. */
const RESOURCES_FIELDS = {
  Devices: STRUCTS,
  DeviceRequests: arrayOf(DEVICE_REQUEST),
  Ulimits: STRUCTS,
  BlkioWeightDevice: STRUCTS,
  BlkioDeviceReadBps: STRUCTS,
  BlkioDeviceWriteBps: STRUCTS,
  BlkioDeviceReadIOps: STRUCTS,
  BlkioDeviceWriteIOps: STRUCTS,
} as const

/** container.HostConfig. */
export const HOST_CONFIG: Shape = struct({
  ...RESOURCES_FIELDS,
  LogConfig: struct({ Config: STRING_MAP }),
  PortBindings: mapOf(STRUCTS),
  RestartPolicy: struct(),
  Mounts: arrayOf(MOUNT),
  Annotations: STRING_MAP,
  StorageOpt: STRING_MAP,
  Tmpfs: STRING_MAP,
  Sysctls: STRING_MAP,
})

/** network.EndpointSettings. */
export const ENDPOINT_SETTINGS: Shape = struct({ IPAMConfig: struct(), DriverOpts: STRING_MAP })

/** The ContainerCreate body: container.Config + HostConfig + NetworkingConfig. */
export const CONTAINER_CREATE: Shape = struct({
  Labels: STRING_MAP,
  Volumes: mapOf(struct()),
  ExposedPorts: mapOf(struct()),
  Healthcheck: struct(),
  HostConfig: HOST_CONFIG,
  NetworkingConfig: struct({ EndpointsConfig: mapOf(ENDPOINT_SETTINGS) }),
})

/** container.UpdateConfig: Resources (embedded) + RestartPolicy. */
export const CONTAINER_UPDATE: Shape = struct({ ...RESOURCES_FIELDS, RestartPolicy: struct() })

/** container.ExecOptions. */
export const EXEC_CONFIG: Shape = struct()

/** volume.CreateOptions. */
export const VOLUME_CREATE: Shape = struct({ DriverOpts: STRING_MAP, Labels: STRING_MAP, ClusterVolumeSpec: struct() })

const NETWORK_ATTACHMENT = struct({ DriverOpts: STRING_MAP })

/** swarm.ServiceSpec. */
export const SERVICE_SPEC: Shape = struct({
  Labels: STRING_MAP,
  TaskTemplate: struct({
    ContainerSpec: struct({
      Labels: STRING_MAP,
      Mounts: arrayOf(MOUNT),
      Sysctls: STRING_MAP,
      Privileges: struct({ CredentialSpec: struct(), SELinuxContext: struct(), Seccomp: struct(), AppArmor: struct() }),
      DNSConfig: struct(),
      HealthCheck: struct(),
      Secrets: STRUCTS,
      Configs: STRUCTS,
      Ulimits: STRUCTS,
    }),
    PluginSpec: struct(),
    Resources: struct(),
    RestartPolicy: struct(),
    Placement: struct(),
    Networks: arrayOf(NETWORK_ATTACHMENT),
    LogDriver: struct({ Options: STRING_MAP }),
  }),
  Networks: arrayOf(NETWORK_ATTACHMENT),
  EndpointSpec: struct(),
})

/** network.CreateRequest. */
export const NETWORK_CREATE: Shape = struct({
  Options: STRING_MAP,
  Labels: STRING_MAP,
  IPAM: struct({ Options: STRING_MAP, Config: arrayOf(struct({ AuxiliaryAddresses: STRING_MAP })) }),
  ConfigFrom: struct(),
})

/** network.ConnectOptions / DisconnectOptions. */
export const NETWORK_CONNECT: Shape = struct({ EndpointConfig: ENDPOINT_SETTINGS })
