// check-render.mjs - look at the rendered deck the way a projector will.
//
//   node slides/check-render.mjs slides/build/workshop.html [--all]
//
// Opens the HTML that `make slides` built in the system Chromium
// (puppeteer-core drives it; it downloads no browser of its own), at
// 1280x720, and for every slide checks that
//   - nothing inside the slide reaches outside its content box (the
//     slide minus its padding), and no code block is wider than itself;
//   - every piece of code is drawn at 20 px or more, measured after
//     every scaling, so that shrinking code to make it fit fails too;
//   - every image has loaded, and nothing was fetched from the network;
//   - every piece of text, comments, footer and page number included,
//     reaches MIN_CONTRAST (7:1, WCAG AAA) against what is behind it;
//   - the slide shows at most MAX_CODE_LINES (12) lines of code, all
//     blocks together, and at most MAX_WORDS (60) words of prose
//     (paragraphs, lists, quotes; headings, tables and code not counted);
// and, before opening anything, that every diagram in slides/img/ draws
// its lines at 3 px or more and its text at 7:1 on white (the pictures
// copied from bench/ are charts, and are compared with bench/ instead).
// It saves a PNG of the first slide of each section (a divider, or a
// change of footer) to slides/review/, and of every slide with --all or
// with a problem, for a person to look at.
// Exit status 1 when any check fails, naming the slide and what is off.
import {
  mkdtempSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import puppeteer from 'puppeteer-core'

const MIN_CODE_PX = 20
const MIN_CONTRAST = 7
const MAX_CODE_LINES = 12
const MAX_WORDS = 60
const MIN_STROKE = 3
const CHARTS = ['idle-4v5.svg', 'slowloris-4v5.svg'] // copies of bench/
const WIDTH = 1280
const HEIGHT = 720
const TOLERANCE = 1 // px: sub-pixel rounding is not an overflow

const args = process.argv.slice(2)
const all = args.includes('--all')
const decks = args.filter((a) => !a.startsWith('--'))
if (decks.length === 0) {
  console.error('usage: node check-render.mjs DECK.html... [--all]')
  process.exit(2)
}
const chromium = process.env.CHROMIUM || '/usr/bin/chromium'
const here = dirname(fileURLToPath(import.meta.url))
const reviewDir = join(here, 'review')

mkdirSync(reviewDir, { recursive: true })
for (const f of readdirSync(reviewDir))
  if (f.endsWith('.png')) rmSync(join(reviewDir, f))

// WCAG relative luminance and contrast of two '#rrggbb' or 'rgb()' colours.
function luminance(c) {
  let rgb
  if (c.startsWith('#')) {
    const h = c.length === 4 ? c.replace(/(\w)/g, '$1$1').slice(1) : c.slice(1)
    rgb = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16))
  } else {
    rgb = c.match(/[\d.]+/g).slice(0, 3).map(Number)
  }
  const [r, g, b] = rgb.map((v) => {
    v /= 255
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4
  })
  return 0.2126 * r + 0.7152 * g + 0.0722 * b
}
const contrast = (a, b) => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p)
  return (x + 0.05) / (y + 0.05)
}

let failures = 0
const imgDir = join(here, 'img')
for (const f of readdirSync(imgDir)) {
  if (!f.endsWith('.svg') || CHARTS.includes(f)) continue
  const svg = readFileSync(join(imgDir, f), 'utf8')
  for (const m of svg.matchAll(/stroke-width="([\d.]+)"/g))
    if (parseFloat(m[1]) < MIN_STROKE) {
      console.error(`img/${f}: a line of ${m[1]} px (at least ${MIN_STROKE})`)
      failures++
      break
    }
  // Text is drawn on white, or (light text) on the deck's dark blue.
  for (const m of svg.matchAll(/<text[^>]*fill="(#[0-9a-fA-F]{3,6})"/g))
    if (
      contrast(m[1], '#ffffff') < MIN_CONTRAST &&
      contrast(m[1], '#0b3a66') < MIN_CONTRAST
    ) {
      console.error(
        `img/${f}: text in ${m[1]}, ` +
          `${contrast(m[1], '#ffffff').toFixed(1)}:1 on white`,
      )
      failures++
      break
    }
}

const profile = mkdtempSync(join(tmpdir(), 'slides-check-'))
const browser = await puppeteer.launch({
  executablePath: chromium,
  ignoreDefaultArgs: true,
  pipe: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--hide-scrollbars',
    '--mute-audio',
    `--user-data-dir=${profile}`,
    `--window-size=${WIDTH},${HEIGHT}`,
  ],
})

// Runs in the page: measures slide n.
function measure(n, min, tol, minContrast, maxLines, maxWords) {
  // The untransformed width of an element's border box, unrounded
  // (offsetWidth is rounded to whole pixels).
  const borderBoxWidth = (el) => {
    const cs = getComputedStyle(el)
    const w = parseFloat(cs.width)
    if (cs.boxSizing === 'border-box') return w
    return ['paddingLeft', 'paddingRight', 'borderLeftWidth',
      'borderRightWidth'].reduce((sum, p) => sum + parseFloat(cs[p]), w)
  }
  const problems = []
  const svg = document.querySelectorAll('svg[data-marpit-svg]')[n - 1]
  const section = svg.querySelector('section')
  const sr = section.getBoundingClientRect()
  const scale = sr.width / section.offsetWidth
  const cs = getComputedStyle(section)
  const box = {
    left: sr.left + parseFloat(cs.paddingLeft) * scale,
    right: sr.right - parseFloat(cs.paddingRight) * scale,
    top: sr.top + parseFloat(cs.paddingTop) * scale,
    bottom: sr.bottom - parseFloat(cs.paddingBottom) * scale,
  }
  const name = (el) => {
    const text = (el.textContent || '').trim().replace(/\s+/g, ' ')
    return `<${el.tagName.toLowerCase()}> "${text.slice(0, 40)}"`
  }
  let smallest = Infinity
  for (const el of section.querySelectorAll('*')) {
    if (el.closest('header, footer')) continue
    const r = el.getBoundingClientRect()
    if (r.width === 0 && r.height === 0) continue
    const out = []
    if (r.left < box.left - tol) out.push('left')
    if (r.right > box.right + tol) out.push('right')
    if (r.top < box.top - tol) out.push('top')
    if (r.bottom > box.bottom + tol) out.push('bottom')
    if (out.length > 0)
      problems.push(
        `${name(el)} goes past the ${out.join(' and ')} edge by ` +
          `${Math.round(
            Math.max(
              box.left - r.left,
              r.right - box.right,
              box.top - r.top,
              r.bottom - box.bottom,
            ) / scale,
          )} px`,
      )
    if (el.tagName === 'PRE' || el.tagName === 'MARP-PRE') {
      if (el.scrollWidth > el.clientWidth + tol)
        problems.push(
          `${name(el)} is ${el.scrollWidth - el.clientWidth} px ` +
            'wider than its box (a line is too long)',
        )
      if (el.scrollHeight > el.clientHeight + tol)
        problems.push(`${name(el)} is taller than its box`)
    }
    if (el.tagName === 'CODE' && el.offsetWidth > 0) {
      // Rendered size: the computed size times every transform above
      // it (measured on the nearest box wide enough for the rounding of
      // offsetWidth not to matter), divided by the slide's own scale.
      let box = el
      while (
        (box.offsetWidth < 200 ||
          getComputedStyle(box).display === 'inline') &&
        box.parentElement !== section
      )
        box = box.parentElement
      const zoom =
        box.getBoundingClientRect().width / borderBoxWidth(box) / scale
      const own = getComputedStyle(el).transform
      const m = own === 'none' ? null : new DOMMatrix(own)
      const px =
        parseFloat(getComputedStyle(el).fontSize) *
        zoom *
        (m ? Math.hypot(m.a, m.b) : 1)
      smallest = Math.min(smallest, px)
      if (px < min - 0.01)
        problems.push(`${name(el)} is drawn at ${px.toFixed(1)} px`)
    }
    if (el.tagName === 'IMG' && !(el.complete && el.naturalWidth > 0))
      problems.push(`image ${el.getAttribute('alt') || ''} did not load`)
  }
  // Contrast: each element that holds text of its own, against the
  // first opaque background behind it.
  const lum = (c) => {
    const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map((v) => {
      v /= 255
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4
    })
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
  }
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p)
    return (x + 0.05) / (y + 0.05)
  }
  const opaque = (c) => c !== 'transparent' && !/rgba\(.*, 0\)$/.test(c)
  const behind = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor
      if (opaque(bg)) return bg
      if (e === section) break
    }
    return getComputedStyle(section).backgroundColor
  }
  const seen = new Set()
  let lowest = Infinity
  const texts = [...section.querySelectorAll('*')].filter((el) =>
    [...el.childNodes].some(
      (c) => c.nodeType === 3 && c.textContent.trim() !== '',
    ),
  )
  for (const el of texts) {
    const fg = getComputedStyle(el).color
    const bg = behind(el)
    const r = ratio(fg, bg)
    lowest = Math.min(lowest, r)
    if (r < minContrast - 0.005 && !seen.has(fg + bg)) {
      seen.add(fg + bg)
      problems.push(`${name(el)}: contrast ${r.toFixed(1)}:1 (${fg} on ${bg})`)
    }
  }
  const page = getComputedStyle(section, '::after')
  if (page.content !== 'none' && page.content !== '') {
    const r = ratio(page.color, getComputedStyle(section).backgroundColor)
    lowest = Math.min(lowest, r)
    if (r < minContrast - 0.005)
      problems.push(`the page number: contrast ${r.toFixed(1)}:1`)
  }
  // Code lines, all blocks of the slide together.
  let lines = 0
  for (const pre of section.querySelectorAll('pre'))
    lines += pre.textContent.replace(/\n$/, '').split('\n').length
  if (lines > maxLines)
    problems.push(`${lines} lines of code (at most ${maxLines})`)
  // Words of prose: what is left without headings, code and tables.
  const prose = section.cloneNode(true)
  for (const e of prose.querySelectorAll(
    'h1, h2, h3, pre, table, header, footer, img',
  ))
    e.remove()
  const words = prose.textContent.split(/\s+/).filter((w) => /\w/.test(w))
  if (words.length > maxWords)
    problems.push(`${words.length} words of prose (about ${maxWords})`)
  if (section.scrollHeight > section.offsetHeight + tol)
    problems.push('the slide is taller than 720 px')
  const title = section.querySelector('h1, h2')
  const footer = section.querySelector('footer')
  return {
    footer: footer ? footer.textContent.trim() : '',
    problems,
    smallest: smallest === Infinity ? null : smallest,
    lowest,
    lines,
    words: words.length,
    divider: section.classList.contains('divider'),
    title: title ? title.textContent.trim() : '',
  }
}

const slug = (s) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40)

let saved = 0
try {
  for (const deck of decks) {
    const page = await browser.newPage()
    const fetched = []
    await page.setRequestInterception(true)
    page.on('request', (req) => {
      const url = req.url()
      if (url.startsWith('file:') || url.startsWith('data:')) {
        req.continue()
      } else {
        fetched.push(url)
        req.abort()
      }
    })
    await page.setViewport({ width: WIDTH, height: HEIGHT })
    await page.goto(pathToFileURL(resolve(deck)).href, {
      waitUntil: 'load',
    })
    await page.evaluate(() => document.fonts.ready)
    // The on-screen controller would cover the slide in a screenshot.
    await page.addStyleTag({
      content: '.bespoke-marp-osc { display: none !important; }',
    })
    const count = await page.$$eval('svg[data-marpit-svg]', (s) => s.length)
    let smallest = Infinity
    let lowest = Infinity
    let most = { lines: 0, words: 0 }
    let footer = null
    for (let i = 1; i <= count; i++) {
      await page.evaluate((n) => {
        location.hash = `#${n}`
      }, i)
      await page.waitForFunction(
        (n) =>
          document.querySelectorAll('svg[data-marpit-svg]')[n - 1]
            .classList.contains('bespoke-marp-active'),
        { timeout: 5000 },
        i,
      )
      const m = await page.evaluate(
        measure,
        i,
        MIN_CODE_PX,
        TOLERANCE,
        MIN_CONTRAST,
        MAX_CODE_LINES,
        MAX_WORDS,
      )
      if (process.env.RENDER_DEBUG) console.log(i, m.footer, m.title)
      if (m.smallest !== null) smallest = Math.min(smallest, m.smallest)
      lowest = Math.min(lowest, m.lowest)
      most = {
        lines: Math.max(most.lines, m.lines),
        words: Math.max(most.words, m.words),
      }
      for (const p of m.problems) {
        console.error(`${deck}: slide ${i} (${m.title}): ${p}`)
        failures++
      }
      // A section starts at a divider or where the footer changes.
      const first = m.divider || m.footer !== footer
      footer = m.footer
      if (all || first || m.problems.length > 0) {
        const file = join(
          reviewDir,
          `${basename(deck, '.html')}-${String(i).padStart(2, '0')}-` +
            `${slug(m.title) || 'slide'}.png`,
        )
        await new Promise((r) => setTimeout(r, 50)) // let it paint
        await page.screenshot({ path: file })
        saved++
      }
    }
    for (const url of fetched) {
      console.error(`${deck}: fetched from the network: ${url}`)
      failures++
    }
    console.log(
      `render-check: ${deck}: ${count} slides at ${WIDTH}x${HEIGHT}, ` +
        `smallest code ${smallest === Infinity ? '-' : smallest.toFixed(1)} px, ` +
        `lowest contrast ${lowest.toFixed(1)}:1, at most ${most.lines} ` +
        `code lines and ${most.words} words on a slide`,
    )
    await page.close()
  }
} finally {
  await browser.close()
  rmSync(profile, { recursive: true, force: true })
}
console.log(`render-check: ${saved} PNGs in ${reviewDir}`)
if (failures > 0) {
  console.error(`render-check: ${failures} problems; see above`)
  process.exit(1)
}
