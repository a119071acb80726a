/* global document, navigator, getSelection, setTimeout */
// Copy buttons: <button class="copy" data-copy="text" hidden>. They stay hidden without JavaScript.
for (const button of document.querySelectorAll('button.copy[data-copy]')) {
  button.hidden = false
  button.addEventListener('click', async () => {
    const label = button.textContent
    try {
      await navigator.clipboard.writeText(button.dataset.copy)
      button.textContent = 'Copied'
    } catch {
      button.textContent = 'Press Ctrl+C'
      const range = document.createRange()
      const target = document.getElementById(button.getAttribute('aria-controls') || '')
      if (target) {
        range.selectNodeContents(target)
        getSelection().removeAllRanges()
        getSelection().addRange(range)
      }
    }
    setTimeout(() => { button.textContent = label }, 1500)
  })
}
