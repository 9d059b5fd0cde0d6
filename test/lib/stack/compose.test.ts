import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ROOT } from '../../helpers/cli.js'

interface Service {
  image?: string
  build?: unknown
  profiles?: string[]
  ports?: string[]
  environment?: Record<string, string | number>
  healthcheck?: { test: string[] | string }
  command?: string[]
}

const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>
  volumes: Record<string, unknown>
}
const { services } = compose

/** A compose interpolation, ${NAME:-default}. */
const v = (name: string, fallback: number) => `\${${name}:-${fallback}}`

describe('docker-compose.yml', () => {
  it('has kafka, namenode and datanode, each with a health check', () => {
    for (const name of ['kafka', 'namenode', 'datanode']) {
      expect(services[name], name).toBeDefined()
      expect(services[name].healthcheck?.test, name).toBeTruthy()
      expect(services[name].profiles, name).toBeUndefined()
    }
  })

  it('Kafka: apache/kafka in KRaft mode, no ZooKeeper, host and in-network listeners', () => {
    const kafka = services.kafka
    expect(kafka.image).toMatch(/^apache\/kafka:/)
    const env = kafka.environment!
    expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller')
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe('1@kafka:9093')
    expect(String(env.CLUSTER_ID)).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(JSON.stringify(compose).toLowerCase()).not.toContain('zookeeper')
    expect(env.KAFKA_ADVERTISED_LISTENERS).toContain('PLAINTEXT://kafka:29092')
    expect(env.KAFKA_ADVERTISED_LISTENERS).toContain(`localhost:${v('GAME_KAFKA_PORT', 9092)}`)
    expect(kafka.ports).toContain(`${v('GAME_KAFKA_PORT', 9092)}:9092`)
    // Every listener has a protocol.
    const map = String(env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP)
    for (const l of String(env.KAFKA_LISTENERS).split(',')) {
      expect(map).toContain(`${l.split(':')[0]}:`)
    }
  })

  it('HDFS: apache/hadoop:3, WebHDFS 9870 and datanode 9864 published, webhdfs on, permissions off', () => {
    for (const name of ['namenode', 'datanode']) {
      expect(services[name].image).toBe('apache/hadoop:3')
      const env = services[name].environment!
      expect(env['HDFS-SITE.XML_dfs.webhdfs.enabled']).toBe('true')
      expect(env['HDFS-SITE.XML_dfs.permissions.enabled']).toBe('false')
      expect(env['CORE-SITE.XML_fs.defaultFS']).toBe('hdfs://namenode:8020')
    }
    expect(services.namenode.command).toEqual(['hdfs', 'namenode'])
    expect(services.datanode.command).toEqual(['hdfs', 'datanode'])
    expect(services.namenode.ports).toContain(`${v('GAME_HDFS_PORT', 9870)}:9870`)
    expect(services.datanode.ports).toContain(`${v('GAME_DATANODE_PORT', 9864)}:9864`)
    expect(services.datanode.environment!['HDFS-SITE.XML_dfs.datanode.hostname']).toContain('localhost')
  })

  it('data lives in named volumes (so down keeps it and down -v deletes it)', () => {
    expect(Object.keys(compose.volumes).sort()).toEqual(['datanode-data', 'kafka-data', 'namenode-data'])
  })

  it('the app profile runs game api and game stream from the Dockerfile, inside the network', () => {
    for (const name of ['api', 'stream']) {
      expect(services[name].profiles).toEqual(['app'])
      expect(services[name].build).toBe('.')
      expect(services[name].environment!.GAME_BROKERS).toBe('kafka:29092')
      expect(services[name].environment!.GAME_DATANODE_HOST).toBe('datanode:9864')
    }
    expect(services.api.command?.[0]).toBe('api')
    expect(services.stream.command?.[0]).toBe('stream')
  })

  it('the Dockerfile builds from node:20-slim with npm ci and the TypeScript build', () => {
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')
    expect(dockerfile).toMatch(/^FROM node:20-slim/m)
    expect(dockerfile).toContain('npm ci')
    expect(dockerfile).toContain('tsc -p tsconfig.build.json')
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "\/app\/bin\/run.js"\]/)
  })
})
