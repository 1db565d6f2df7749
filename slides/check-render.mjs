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
//   - every image has loaded, and nothing was fetched from the network.
// It saves a PNG of the first slide of each section (a divider, or a
// change of footer) to slides/review/, and of every slide with --all or
// with a problem, for a person to look at.
// Exit status 1 when any check fails, naming the slide and what is off.
import { mkdtempSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import puppeteer from 'puppeteer-core'

const MIN_CODE_PX = 20
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
function measure(n, min, tol) {
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
  if (section.scrollHeight > section.offsetHeight + tol)
    problems.push('the slide is taller than 720 px')
  const title = section.querySelector('h1, h2')
  const footer = section.querySelector('footer')
  return {
    footer: footer ? footer.textContent.trim() : '',
    problems,
    smallest: smallest === Infinity ? null : smallest,
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

let failures = 0
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
      const m = await page.evaluate(measure, i, MIN_CODE_PX, TOLERANCE)
      if (process.env.RENDER_DEBUG) console.log(i, m.footer, m.title)
      if (m.smallest !== null) smallest = Math.min(smallest, m.smallest)
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
        `smallest code ${smallest === Infinity ? '-' : smallest.toFixed(1)} px`,
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
