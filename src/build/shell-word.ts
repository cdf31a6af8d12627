/**
 * Variable expansion of one Dockerfile word, as the legacy builder does it before ADD runs:
 * ProcessWord of moby/buildkit frontend/dockerfile/shell/lex.go (v0.8 in dockerd 20.10, v0.13 in
 * 26.1): quotes are removed, the escape token escapes, `$NAME` and `${NAME}` expand, and a leading
 * U+FEFF is dropped (text/scanner skips a byte order mark).
 *
 * Values are known only as far as dockgate can know them, so expansion yields either the exact
 * value or the text up to the first part it cannot know (and why). Only the forms both engines
 * expand the same way are evaluated: `$X`, `${X}`, `${X:-word}`, `${X:+word}`. Every other form
 * (`${X-w}`, `${X?w}`, `${X#p}`, `${X/p/r}`, …: errors on 20.10, expansions on 26.1) and any
 * syntax error stop the evaluation like an unknown value: the caller then decides on the prefix.
 */
import { isDigit, isLetter } from './go-text.js'

/** A variable whose value dockgate cannot know, with the reason shown to the client. */
export interface Unknown {
  readonly unknown: string
}

/** A variable's value: its text, `null` when unset (expands to ""), or Unknown. */
export type VarValue = string | null | Unknown

export type Lookup = (name: string) => VarValue

/** The expanded word, or the text before the first part dockgate could not evaluate. */
export type Expansion = { readonly value: string } | { readonly prefix: string; readonly unknown: string }

type Part = { t: 'lit'; s: string } | { t: 'var'; name: string; op: '' | ':-' | ':+'; word: Part[] } | { t: 'stop'; why: string }

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0'])

class Parser {
  private pos = 0
  private readonly cps: number[]
  constructor(text: string, private readonly escape: number) {
    this.cps = Array.from(text, (c) => c.codePointAt(0)!)
    if (this.cps[0] === 0xfeff) this.pos = 1
  }

  private peek(): number {
    return this.pos < this.cps.length ? this.cps[this.pos]! : -1
  }

  private next(): number {
    return this.pos < this.cps.length ? this.cps[this.pos++]! : -1
  }

  /** processStopOn: parts up to `stop` (-1: the end). A 'stop' part ends the list. */
  parts(stop: number): Part[] {
    const out: Part[] = []
    const lit = (s: string): void => {
      const last = out[out.length - 1]
      if (last?.t === 'lit') last.s += s
      else out.push({ t: 'lit', s })
    }
    for (;;) {
      const ch = this.peek()
      if (ch === -1) {
        if (stop !== -1) out.push({ t: 'stop', why: 'an unterminated ${...}' })
        return out
      }
      if (stop !== -1 && ch === stop) {
        this.next()
        return out
      }
      if (ch === 0x27 /* ' */) {
        this.next()
        let s = ''
        for (let c = this.next(); c !== 0x27; c = this.next()) {
          if (c === -1) return [...out, { t: 'lit', s }, { t: 'stop', why: 'an unterminated quote' }]
          s += String.fromCodePoint(c)
        }
        lit(s)
      } else if (ch === 0x22 /* " */) {
        this.next()
        for (;;) {
          const c = this.peek()
          if (c === -1) return [...out, { t: 'stop', why: 'an unterminated quote' }]
          if (c === 0x22) {
            this.next()
            break
          }
          if (c === 0x24 /* $ */) {
            const p = this.dollar()
            out.push(p)
            if (p.t === 'stop') return out
            continue
          }
          let d = this.next()
          if (d === this.escape) {
            const n = this.peek()
            if (n === -1) continue
            if (n === 0x22 || n === 0x24 || n === this.escape) d = this.next()
          }
          lit(String.fromCodePoint(d))
        }
      } else if (ch === 0x24) {
        const p = this.dollar()
        if (p.t === 'lit') lit(p.s)
        else out.push(p)
        if (p.t === 'stop') return out
      } else {
        let c = this.next()
        if (c === this.escape) {
          c = this.next()
          if (c === -1) {
            if (stop !== -1) out.push({ t: 'stop', why: 'an unterminated ${...}' })
            return out
          }
        }
        lit(String.fromCodePoint(c))
      }
    }
  }

  /** processDollar, for the forms both engines share. */
  private dollar(): Part {
    this.next()
    if (this.peek() !== 0x7b /* { */) {
      const name = this.name()
      return name === '' ? { t: 'lit', s: '$' } : { t: 'var', name, op: '', word: [] }
    }
    this.next()
    const first = this.peek()
    if (first === -1 || first === 0x7b || first === 0x7d || first === 0x3a) return { t: 'stop', why: 'a bad ${...} substitution' }
    const name = this.name()
    const ch = this.next()
    if (ch === 0x7d /* } */) return { t: 'var', name, op: '', word: [] }
    if (ch === 0x3a /* : */) {
      const mod = this.next()
      if (mod === 0x2d /* - */ || mod === 0x2b /* + */) {
        const word = this.parts(0x7d)
        return { t: 'var', name, op: mod === 0x2d ? ':-' : ':+', word }
      }
    }
    return { t: 'stop', why: `a \${${name}...} form that dockerd versions expand differently` }
  }

  /** processName: a run of digits, one special parameter, or letters, digits and '_'. */
  private name(): string {
    let name = ''
    for (let ch = this.peek(); ch !== -1; ch = this.peek()) {
      if (name === '' && isDigit(ch)) {
        while (this.peek() !== -1 && isDigit(this.peek())) name += String.fromCodePoint(this.next())
        return name
      }
      if (name === '' && SPECIAL_PARAMS.has(String.fromCodePoint(ch))) return String.fromCodePoint(this.next())
      if (!isLetter(ch) && !isDigit(ch) && ch !== 0x5f) break
      name += String.fromCodePoint(this.next())
    }
    return name
  }
}

/** Evaluates parts; stops at the first part whose value is unknown. */
function evaluate(parts: readonly Part[], lookup: Lookup): Expansion {
  let text = ''
  for (const p of parts) {
    if (p.t === 'lit') {
      text += p.s
      continue
    }
    if (p.t === 'stop') return { prefix: text, unknown: `it contains ${p.why}` }
    const v = lookup(p.name)
    if (v !== null && typeof v === 'object') return { prefix: text, unknown: v.unknown }
    const set = v !== null && v !== ''
    if (p.op === '' || (p.op === ':-' && set)) {
      text += v ?? ''
    } else if (p.op === ':-' || (p.op === ':+' && set)) {
      const inner = evaluate(p.word, lookup)
      if ('unknown' in inner) return { prefix: text + inner.prefix, unknown: inner.unknown }
      text += inner.value
    }
  }
  return { value: text }
}

/**
 * Expands `word` (Unicode text) as ProcessWord would with `escape` as the escape token.
 * Variables are looked up with `lookup`.
 */
export function expandWord(word: string, escape: '\\' | '`', lookup: Lookup): Expansion {
  const parser = new Parser(word, escape.codePointAt(0)!)
  return evaluate(parser.parts(-1), lookup)
}
