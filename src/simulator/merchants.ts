// The simulated world's merchants: fixed (not drawn from the seed), so a scene registered once with
// `POST /v1/merchants` matches every later run's traffic.
import type { EntryMode } from '../lib/payments.ts';

export type MerchantCategory =
  | 'coffee'
  | 'bakery'
  | 'grocery'
  | 'fuel'
  | 'airline'
  | 'hotel'
  | 'restaurant'
  | 'fast_food'
  | 'books'
  | 'pharmacy'
  | 'retail'
  | 'electronics'
  | 'transport'
  | 'subscription'
  | 'leisure'
  | 'services';

export interface MerchantLocation {
  /** The merchant id (card acceptor id) its terminals send: at most 15 printable characters (ISO 8583 DE42). */
  mid: string;
  city: string;
  region: string;
  postalCode: string;
}

export interface SimulatedMerchant {
  /** A stable key for code that names a merchant (the demo's triggers). */
  key: string;
  /** As the card networks carry it: at most 25 characters (ISO 8583 DE43). */
  name: string;
  mcc: string;
  category: MerchantCategory;
  country: string;
  /** IANA time zone of its locations: the local time of its purchases. */
  timezone: string;
  currency: string;
  locations: MerchantLocation[];
  /** How often cardholders buy here, relative to the others. */
  popularity: number;
  /** Purchase amounts in minor units, [min, max]; small amounts are likelier. */
  amount: [number, number];
  entryModes: EntryMode[];
}

const IN_PERSON: EntryMode[] = ['contactless', 'contactless', 'chip', 'chip', 'magstripe'];
const ONLINE: EntryMode[] = ['ecommerce', 'ecommerce', 'card_on_file'];

const LA = 'America/Los_Angeles';
const NY = 'America/New_York';
const CHI = 'America/Chicago';
const DEN = 'America/Denver';

type Place = [city: string, region: string, postalCode: string];
const SEATTLE: Place = ['Seattle', 'WA', '98101'];
const PORTLAND: Place = ['Portland', 'OR', '97205'];
const SAN_FRANCISCO: Place = ['San Francisco', 'CA', '94107'];
const OAKLAND: Place = ['Oakland', 'CA', '94607'];
const LOS_ANGELES: Place = ['Los Angeles', 'CA', '90012'];
const NEW_YORK: Place = ['New York', 'NY', '10001'];
const BOSTON: Place = ['Boston', 'MA', '02108'];
const CHICAGO: Place = ['Chicago', 'IL', '60601'];
const AUSTIN: Place = ['Austin', 'TX', '78701'];
const DENVER: Place = ['Denver', 'CO', '80202'];

function merchant(
  key: string,
  name: string,
  mcc: string,
  category: MerchantCategory,
  code: string,
  places: Place[],
  options: {
    timezone: string;
    amount: [number, number];
    popularity?: number;
    online?: boolean;
    country?: string;
    currency?: string;
  },
): SimulatedMerchant {
  return {
    key,
    name,
    mcc,
    category,
    country: options.country ?? 'US',
    timezone: options.timezone,
    currency: options.currency ?? 'USD',
    locations: places.map(([city, region, postalCode], i) => ({
      mid: `${code}${String(i + 1).padStart(4, '0')}`,
      city,
      region,
      postalCode,
    })),
    popularity: options.popularity ?? 1,
    amount: options.amount,
    entryModes: options.online ? ONLINE : IN_PERSON,
  };
}

/** The fifty merchants of the simulated world (fictional names). */
export const MERCHANTS: readonly SimulatedMerchant[] = [
  merchant(
    'driftwood-coffee',
    'DRIFTWOOD COFFEE',
    '5814',
    'coffee',
    'DRIFTWD',
    [SEATTLE, SEATTLE, PORTLAND, SAN_FRANCISCO, SAN_FRANCISCO, OAKLAND, LOS_ANGELES, LOS_ANGELES],
    { timezone: LA, amount: [325, 950], popularity: 14 },
  ),
  merchant('morning-ritual', 'MORNING RITUAL CAFE', '5814', 'coffee', 'MRNGRTL', [NEW_YORK, BOSTON], {
    timezone: NY,
    amount: [350, 1100],
    popularity: 5,
  }),
  merchant('kettle-crumb', 'KETTLE & CRUMB BAKERY', '5462', 'bakery', 'KTLCRMB', [CHICAGO], {
    timezone: CHI,
    amount: [400, 2400],
    popularity: 2,
  }),
  merchant(
    'greenleaf-market',
    'GREENLEAF MARKET',
    '5411',
    'grocery',
    'GRNLEAF',
    [SAN_FRANCISCO, OAKLAND, SEATTLE],
    { timezone: LA, amount: [1200, 16000], popularity: 8 },
  ),
  merchant('harvest-basket', 'HARVEST BASKET GROCERS', '5411', 'grocery', 'HRVSTBK', [CHICAGO, AUSTIN], {
    timezone: CHI,
    amount: [1500, 18000],
    popularity: 6,
  }),
  merchant('corner-fresh', 'CORNER FRESH MARKET', '5411', 'grocery', 'CRNRFRS', [NEW_YORK, BOSTON], {
    timezone: NY,
    amount: [800, 9000],
    popularity: 6,
  }),
  merchant('summit-fuel', 'SUMMIT FUEL', '5541', 'fuel', 'SUMMITF', [DENVER, AUSTIN], {
    timezone: DEN,
    amount: [2500, 9000],
    popularity: 4,
  }),
  merchant('coastline-gas', 'COASTLINE GAS & GO', '5542', 'fuel', 'CSTLNGS', [LOS_ANGELES, SAN_FRANCISCO], {
    timezone: LA,
    amount: [3000, 9500],
    popularity: 4,
  }),
  merchant('eastway-petroleum', 'EASTWAY PETROLEUM', '5541', 'fuel', 'ESTWYPT', [BOSTON, NEW_YORK], {
    timezone: NY,
    amount: [2800, 8500],
    popularity: 3,
  }),
  merchant('nimbus-air', 'NIMBUS AIR', '4511', 'airline', 'NIMBUSA', [SEATTLE], {
    timezone: LA,
    amount: [9000, 68000],
    online: true,
  }),
  merchant('polar-airways', 'POLAR AIRWAYS', '4511', 'airline', 'POLARAW', [CHICAGO], {
    timezone: CHI,
    amount: [12000, 85000],
    online: true,
  }),
  merchant('atlantic-skylines', 'ATLANTIC SKYLINES', '4511', 'airline', 'ATLSKYL', [NEW_YORK], {
    timezone: NY,
    amount: [15000, 120000],
    online: true,
  }),
  merchant('harborview-hotel', 'HARBORVIEW HOTEL', '7011', 'hotel', 'HRBRVWH', [SAN_FRANCISCO], {
    timezone: LA,
    amount: [18000, 72000],
  }),
  merchant('lantern-inn', 'THE LANTERN INN', '7011', 'hotel', 'LNTRNIN', [BOSTON], {
    timezone: NY,
    amount: [14000, 52000],
  }),
  merchant('red-rock-lodge', 'RED ROCK LODGE', '7011', 'hotel', 'REDROCK', [DENVER], {
    timezone: DEN,
    amount: [12000, 46000],
  }),
  merchant('trattoria-sole', 'TRATTORIA SOLE', '5812', 'restaurant', 'TRTSOLE', [SAN_FRANCISCO], {
    timezone: LA,
    amount: [2400, 14000],
    popularity: 2,
  }),
  merchant('smoke-barrel', 'SMOKE & BARREL BBQ', '5812', 'restaurant', 'SMKBRRL', [AUSTIN], {
    timezone: CHI,
    amount: [1800, 9000],
    popularity: 2,
  }),
  merchant('golden-dumpling', 'GOLDEN DUMPLING HOUSE', '5812', 'restaurant', 'GLDDMPL', [LOS_ANGELES], {
    timezone: LA,
    amount: [1500, 7000],
    popularity: 2,
  }),
  merchant('bistro-verde', 'BISTRO VERDE', '5812', 'restaurant', 'BSTVRDE', [NEW_YORK], {
    timezone: NY,
    amount: [3000, 16000],
    popularity: 2,
  }),
  merchant('slice-brothers', 'SLICE BROTHERS PIZZA', '5814', 'fast_food', 'SLCBROS', [CHICAGO, NEW_YORK], {
    timezone: CHI,
    amount: [600, 3200],
    popularity: 4,
  }),
  merchant('taco-camino', 'TACO CAMINO', '5814', 'fast_food', 'TACOCMN', [LOS_ANGELES, AUSTIN], {
    timezone: LA,
    amount: [500, 2400],
    popularity: 4,
  }),
  merchant('burger-union', 'BURGER UNION', '5814', 'fast_food', 'BRGRUNN', [DENVER, SEATTLE], {
    timezone: DEN,
    amount: [700, 2800],
    popularity: 3,
  }),
  merchant('page-quill', 'PAGE & QUILL BOOKS', '5942', 'books', 'PAGEQLL', [PORTLAND], {
    timezone: LA,
    amount: [900, 6500],
  }),
  merchant('chapter-one', 'CHAPTER ONE BOOKSHOP', '5942', 'books', 'CHPTONE', [BOSTON], {
    timezone: NY,
    amount: [800, 5500],
  }),
  merchant('cityrx', 'CITYRX PHARMACY', '5912', 'pharmacy', 'CITYRXP', [NEW_YORK, CHICAGO, SAN_FRANCISCO], {
    timezone: NY,
    amount: [400, 6000],
    popularity: 4,
  }),
  merchant('well-good', 'WELL & GOOD DRUGSTORE', '5912', 'pharmacy', 'WLLGOOD', [AUSTIN], {
    timezone: CHI,
    amount: [400, 5000],
    popularity: 2,
  }),
  merchant('peak-outfitters', 'PEAK OUTFITTERS', '5941', 'retail', 'PKOUTFT', [DENVER], {
    timezone: DEN,
    amount: [2500, 30000],
  }),
  merchant('threadline', 'THREADLINE APPAREL', '5651', 'retail', 'THRDLNE', [NEW_YORK], {
    timezone: NY,
    amount: [2000, 22000],
  }),
  merchant('urban-thread', 'URBAN THREAD CO', '5691', 'retail', 'URBTHRD', [LOS_ANGELES], {
    timezone: LA,
    amount: [2500, 26000],
  }),
  merchant('voltage', 'VOLTAGE ELECTRONICS', '5732', 'electronics', 'VOLTAGE', [SEATTLE], {
    timezone: LA,
    amount: [1500, 120000],
  }),
  merchant('home-hearth', 'HOME & HEARTH HARDWARE', '5251', 'retail', 'HMHRTHW', [PORTLAND, AUSTIN], {
    timezone: LA,
    amount: [800, 18000],
    popularity: 2,
  }),
  merchant('pawsome', 'PAWSOME PET SUPPLY', '5995', 'retail', 'PAWSOME', [SAN_FRANCISCO], {
    timezone: LA,
    amount: [1200, 9000],
  }),
  merchant('glideride', 'GLIDERIDE', '4121', 'transport', 'GLDRIDE', [SAN_FRANCISCO, NEW_YORK], {
    timezone: LA,
    amount: [800, 4800],
    popularity: 4,
    online: true,
  }),
  merchant('metro-fares', 'METROTRANSIT FARES', '4111', 'transport', 'MTROFRS', [NEW_YORK], {
    timezone: NY,
    amount: [290, 3400],
    popularity: 3,
  }),
  merchant('streamwave', 'STREAMWAVE', '4899', 'subscription', 'STRMWVE', [LOS_ANGELES], {
    timezone: LA,
    amount: [999, 2299],
    popularity: 2,
    online: true,
  }),
  merchant('cloudnest', 'CLOUDNEST STORAGE', '5734', 'subscription', 'CLDNEST', [SEATTLE], {
    timezone: LA,
    amount: [299, 1999],
    online: true,
  }),
  merchant('fitforge', 'FITFORGE GYM', '7997', 'leisure', 'FITFRGE', [CHICAGO], {
    timezone: CHI,
    amount: [2500, 8900],
  }),
  merchant('cinema-paradiso', 'CINEMA PARADISO', '7832', 'leisure', 'CNMPRDS', [LOS_ANGELES], {
    timezone: LA,
    amount: [1200, 4800],
    popularity: 2,
  }),
  merchant('greenway-wash', 'GREENWAY CAR WASH', '7542', 'services', 'GRNWYWS', [AUSTIN], {
    timezone: CHI,
    amount: [900, 3500],
  }),
  merchant('quickpark', 'QUICKPARK GARAGES', '7523', 'services', 'QCKPARK', [BOSTON], {
    timezone: NY,
    amount: [600, 4500],
    popularity: 2,
  }),
  merchant('bloom-stem', 'BLOOM & STEM FLORIST', '5992', 'retail', 'BLMSTEM', [PORTLAND], {
    timezone: LA,
    amount: [2500, 12000],
  }),
  merchant('sweet-tooth', 'SWEET TOOTH CANDY', '5441', 'retail', 'SWTTOTH', [SAN_FRANCISCO], {
    timezone: LA,
    amount: [300, 2500],
  }),
  merchant('vino-cellars', 'VINO CELLARS', '5921', 'retail', 'VINOCLR', [SAN_FRANCISCO], {
    timezone: LA,
    amount: [1500, 18000],
  }),
  merchant(
    'maple-grocers',
    'MAPLE LEAF GROCERS',
    '5411',
    'grocery',
    'MPLLEAF',
    [['Toronto', 'ON', 'M5H 2N2']],
    {
      timezone: 'America/Toronto',
      amount: [1200, 14000],
      popularity: 2,
      country: 'CA',
      currency: 'CAD',
    },
  ),
  merchant(
    'northern-brew',
    'NORTHERN BREW CAFE',
    '5814',
    'coffee',
    'NRTHBRW',
    [['Toronto', 'ON', 'M5V 2T6']],
    {
      timezone: 'America/Toronto',
      amount: [300, 900],
      popularity: 2,
      country: 'CA',
      currency: 'CAD',
    },
  ),
  merchant(
    'thames-coffee',
    'THAMES SIDE COFFEE',
    '5814',
    'coffee',
    'THMSCFE',
    [['London', 'LND', 'SE1 9PX']],
    {
      timezone: 'Europe/London',
      amount: [280, 750],
      popularity: 2,
      country: 'GB',
      currency: 'GBP',
    },
  ),
  merchant('camden-books', 'CAMDEN BOOKS', '5942', 'books', 'CMDNBKS', [['London', 'LND', 'NW1 8AH']], {
    timezone: 'Europe/London',
    amount: [700, 4500],
    country: 'GB',
    currency: 'GBP',
  }),
  merchant(
    'boulangerie-lumiere',
    'BOULANGERIE LUMIERE',
    '5462',
    'bakery',
    'BLNGLMR',
    [['Paris', 'IDF', '75004']],
    { timezone: 'Europe/Paris', amount: [180, 1800], country: 'FR', currency: 'EUR' },
  ),
  merchant('spree-markt', 'SPREE MARKT', '5411', 'grocery', 'SPRMRKT', [['Berlin', 'BE', '10178']], {
    timezone: 'Europe/Berlin',
    amount: [900, 9000],
    country: 'DE',
    currency: 'EUR',
  }),
  merchant('sakura-ramen', 'SAKURA RAMEN', '5812', 'restaurant', 'SKRRAMN', [['Tokyo', '13', '100-0005']], {
    timezone: 'Asia/Tokyo',
    amount: [850, 2400],
    country: 'JP',
    currency: 'JPY',
  }),
];

export const merchantByKey = (key: string): SimulatedMerchant => {
  const found = MERCHANTS.find((m) => m.key === key);
  if (!found) throw new Error(`no simulated merchant ${key}`);
  return found;
};
